#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The userspace rate limiter (XDP off, DESIGN §2's last rung): one source flooding tockd is
# cut to about its rate, half of its excess gets a 48-byte KoD RATE (`kod 1/2`), and a
# second source in another /32 is answered throughout. Counters show the drops and KoDs.
source "$(dirname "$0")/tockd_lib.bash"
td_setup
ip -n "$NS_C" addr add 198.18.0.3/24 dev td-c
td_start $'workers 2\nstratum 1\nrefid GPS\nratelimit rate 10 burst 20 kod 1/2 leak 1/1000000'
grep -q "filter: in userspace, before the handler (with the rate limiter)" "$TMP/tockd.log" ||
	fail "the userspace limiter is not on"

# 300 requests from 198.18.0.2 in ~0.3 s, then 10 from 198.18.0.3 spread over 1 s; every
# answer is classified by the stratum/refid it carries. Bounded: fixed counts, 2 s timeouts.
out=$(cli python3 - "$SRV4" <<'PY'
import socket, sys, time
srv = sys.argv[1]
def req(i):
    r = bytearray(48); r[0] = (4 << 3) | 3; r[40:48] = i.to_bytes(8, 'big'); return bytes(r)
def drain(s, until):
    ok = kod = 0
    while time.time() < until:
        s.settimeout(max(until - time.time(), 0.01))
        try:
            d = s.recv(2048)
        except socket.timeout:
            break
        assert len(d) == 48, "answer longer than 48 bytes"
        if d[1] == 0 and d[12:16] == b'RATE':
            kod += 1
        elif d[1] == 1:
            ok += 1
    return ok, kod
flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flood.bind(('198.18.0.2', 0))
start = time.time()
for i in range(300):
    flood.sendto(req(i), (srv, 123))
    time.sleep(0.001)
elapsed = time.time() - start
ok, kod = drain(flood, time.time() + 1.0)
good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
good.bind(('198.18.0.3', 0))
gok = 0
for i in range(10):
    good.sendto(req(1000 + i), (srv, 123))
    gok += drain(good, time.time() + 0.1)[0]
print(ok, kod, gok, round(elapsed, 3))
PY
) || fail "client script: $out"
read -r ok kod good elapsed <<<"$out"
echo "  flooding source: $ok answered, $kod KoD RATE over ${elapsed}s; other source: $good/10"
# burst 20 + 10/s over the flood and the drain, with slack for scheduling
max=$(python3 -c "print(int(20 + 10 * ($elapsed + 1.2) + 5))")
[ "$ok" -ge 20 ] && [ "$ok" -le "$max" ] || fail "flooding source answered $ok times (20..$max)"
excess=$((300 - ok))
[ "$kod" -ge $((excess * 3 / 10)) ] && [ "$kod" -le $((excess * 7 / 10)) ] ||
	fail "$kod KoDs for $excess requests over the limit (kod 1/2)"
[ "$good" -eq 10 ] || fail "the other source got $good/10 answers"

json=$("$PWD/$B/bin/tockctl" -r "$TMP/run" serverstats --json) || fail "tockctl: $json"
python3 - "$json" "$kod" <<'PY' || fail "counters do not match: $json"
import json, sys
s = json.loads(sys.argv[1]); kod = int(sys.argv[2])
flat = {}
def walk(o):
    for k, v in o.items():
        if isinstance(v, dict): walk(v)
        else: flat[k] = v
walk(s)
assert flat.get('kod_sent', -1) == kod, ('kod_sent', flat.get('kod_sent'))
assert flat.get('drop_ratelimit', 0) > 0, ('drop_ratelimit', flat.get('drop_ratelimit'))
PY
td_stop
echo "PASS"
