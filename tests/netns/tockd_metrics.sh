#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tockd's Prometheus listener (`metrics ADDR:PORT`): bound before the privilege drop (port 80,
# then running as nobody), GET /metrics answers 200 with the Prometheus content type and text
# that prometheus_client parses and whose chrony counters equal `tockctl serverstats`; other
# paths 404, other methods 405, an over-long header 431; a silent client is cut at the
# deadline; more than 16 idle connections are refused without starving the others; NTP is
# answered throughout.
source "$(dirname "$0")/tockd_lib.bash"
NS_S=tock-int-met-s$$
NS_C=tock-int-met-c$$
CTL=$PWD/$B/bin/tockctl
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
$PY -c 'import prometheus_client.parser' 2>/dev/null || skip "python3-prometheus-client missing"
[ -x "$CTL" ] || skip "$CTL not built"
id nobody >/dev/null 2>&1 || skip "no user nobody"

td_setup ms mc
chmod 755 "$TMP" # the run directory must stay reachable after the drop to nobody

td_start $'workers 2\nstratum 1\nrefid GPS\nuser nobody\nmetrics '"$SRV4"':80'
grep -q "metrics on http://$SRV4:80/metrics" "$TMP/tockd.log" || fail "no metrics log line"
grep -q "running as nobody" "$TMP/tockd.log" || fail "did not drop to nobody"
echo "ok: bound port 80, then dropped to nobody"
for _ in 1 2 3; do td_query $SRV4 >/dev/null || fail "NTP query"; done

cli $PY - "$SRV4" "$TMP/http.txt" <<'PY' || fail "GET /metrics"
import sys, urllib.request
r = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5)
assert r.status == 200, r.status
ct = r.headers["Content-Type"]
assert ct == "text/plain; version=0.0.4; charset=utf-8", ct
open(sys.argv[2], "wb").write(r.read())
PY
"$CTL" -r "$TMP/run" metrics >"$TMP/ctl.txt" 2>/dev/null || fail "tockctl metrics"
$PY - "$TMP/http.txt" "$TMP/ctl.txt" <<'PY' || fail "HTTP text differs from tockctl's"
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
def vals(p):
    return {s.name: s.value for f in parse(open(p).read()) for s in f.samples if not s.labels}
h, c = vals(sys.argv[1]), vals(sys.argv[2])
for k in ("chrony_serverstats_ntp_packets_received_total",
          "chrony_serverstats_authenticated_ntp_packets_total"):
    assert h[k] == c[k], (k, h[k], c[k])
assert h["chrony_serverstats_ntp_packets_received_total"] >= 3, h
print("ok: GET /metrics: 200, %d samples, chrony counters equal tockctl's" % len(h))
PY

cli $PY - "$SRV4" <<'PY' || fail "HTTP error cases"
import socket, sys, time
addr = (sys.argv[1], 80)
def exchange(data, wait=5):
    s = socket.create_connection(addr, timeout=wait)
    s.sendall(data)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d
def status(data):
    return exchange(data).split(b"\r\n", 1)[0].decode()
assert status(b"GET /nope HTTP/1.0\r\n\r\n").endswith("404 Not Found")
assert status(b"GET /metricsx HTTP/1.0\r\n\r\n").endswith("404 Not Found")
assert status(b"POST /metrics HTTP/1.0\r\n\r\n").endswith("405 Method Not Allowed")
assert status(b"GET /metrics?x=1 HTTP/1.1\nHost: a\n\n").endswith("200 OK")
assert status(b"GET /metrics HTTP/1.0\r\nX: " + b"a" * 5000 + b"\r\n\r\n").endswith("431 Request Header Fields Too Large")
print("ok: 404, 405, 431 and a query string")
# a silent client is closed at the deadline (5 s)
s = socket.create_connection(addr, timeout=10)
t0 = time.time()
assert s.recv(10) == b""
dt = time.time() - t0
assert 3 < dt < 8, dt
print("ok: silent connection closed after %.1f s" % dt)
# 24 idle connections: 16 are held, the rest closed at once; a request still gets through
# once they are gone, and while they are held the server keeps answering NTP (checked below)
idle = [socket.create_connection(addr, timeout=5) for _ in range(24)]
time.sleep(0.5)
closed = 0
for c in idle:
    c.setblocking(False)
    try:
        closed += c.recv(1) == b""
    except BlockingIOError:
        pass
assert closed == 24 - 16, closed
print("ok: %d of 24 idle connections refused (limit 16)" % closed)
for c in idle:
    c.close()
time.sleep(0.3)
assert status(b"GET /metrics HTTP/1.0\r\n\r\n").endswith("200 OK")
print("ok: served again after the idle connections left")
PY
td_query $SRV4 >/dev/null || fail "NTP query after the HTTP tests"
kill -HUP "$TOCKD_PID"
sleep 0.3
cli $PY -c 'import sys,urllib.request; urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5)' $SRV4 ||
	fail "metrics after SIGHUP"
td_stop
echo "PASS"
