#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Clock status in answers: `clock unsynchronised` → leap 3 stratum 0; `clock follow chronyd`
# against a fake chronyd command socket (chrony protocol v6 tracking replies): chronyd's
# stratum, refid and root delay are served; its leap 3 → leap 3; silent chronyd → leap 3
# after the timeout. SIGHUP applies a new static stratum and survives a broken config.
source "$(dirname "$0")/tockd_lib.bash"
td_setup
EXTRA_PIDS=

expect() { # DESCRIPTION EXPECTED-PREFIX (of "li stratum refid")
	local out
	out=$(td_query $SRV4) || fail "$1: no answer"
	echo "  $1: $out"
	[[ $out == "$2"* ]] || fail "$1: expected '$2...', got '$out'"
}

wait_for() { # DESCRIPTION EXPECTED-PREFIX: up to 8 s
	local out
	for _ in $(seq 16); do
		out=$(td_query $SRV4) && [[ $out == "$2"* ]] && { echo "  $1: $out"; return 0; }
		sleep 0.5
	done
	fail "$1: expected '$2...', last '$out'"
}

echo "== clock unsynchronised"
td_start 'clock unsynchronised'
expect "unsynchronised" "3 0 00000000"
td_stop
rm -rf "$TMP/run"

echo "== clock follow chronyd (fake chronyd)"
mkdir -p "$TMP/chrony"
echo sync >"$TMP/mode"
python3 - "$TMP/chrony/chronyd.sock" "$TMP/mode" <<'PY' &
import os, socket, struct, sys, time
path, modefile = sys.argv[1], sys.argv[2]
def flt(x):  # chrony's float: 7-bit exponent, 25-bit coefficient
    import math
    if x == 0: return 0
    m, e = math.frexp(x); coef = int(round(m * (1 << 24))); exp = e + 1
    return ((exp & 0x7f) << 25) | (coef & 0x1ffffff)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); os.chmod(path, 0o666)
end = time.time() + 120
s.settimeout(1)
while time.time() < end:
    try: req, peer = s.recvfrom(1024)
    except socket.timeout: continue
    mode = open(modefile).read().strip()
    if mode == 'silent' or len(req) < 104 or req[0] != 6 or req[1] != 1: continue
    cmd, seq = struct.unpack_from('!H', req, 4)[0], struct.unpack_from('!I', req, 8)[0]
    leap, stratum, refid = (0, 3, 0xC6120063) if mode == 'sync' else (3, 0, 0)
    now = int(time.time()) - 10
    body = struct.pack('!I20sHHIII9I', refid, b'', stratum, leap, 0, now, 0,
                       *[flt(v) for v in (0, 0, 0, 1.5, 0, 0.01, 0.0123, 0.002, 64)])
    hdr = struct.pack('!BBBBHHHHHHIII', 6, 2, 0, 0, cmd, 5, 0, 0, 0, 0, seq, 0, 0)
    s.sendto(hdr + body, peer)
PY
EXTRA_PIDS=$!
sleep 0.5
td_start "clock follow chronyd $TMP/chrony/chronyd.sock"
wait_for "chronyd synchronised" "0 3 c6120063"
out=$(td_query $SRV4)
awk '{ if ($4 < 0.0122 || $4 > 0.0124 || $5 < 0.0019 || $5 > 0.0025) exit 1 }' <<<"$out" ||
	fail "root delay/dispersion not chronyd's: $out"
echo unsync >"$TMP/mode"
wait_for "chronyd unsynchronised" "3 0 00000000"
echo sync >"$TMP/mode"
wait_for "chronyd back" "0 3 c6120063"
echo silent >"$TMP/mode"
wait_for "chronyd silent" "3 0 00000000"
td_stop
rm -rf "$TMP/run"

echo "== SIGHUP"
td_start $'stratum 2\nrefid PPS'
expect "static" "0 2 50505300"
printf 'rundir %s\nstratum 5\nrefid GPS\n' "$TMP/run" >"$TMP/tockd.conf"
kill -HUP "$TOCKD_PID"
wait_for "after reload" "0 5 47505300"
printf 'rundir %s\nstratum 99\n' "$TMP/run" >"$TMP/tockd.conf"
kill -HUP "$TOCKD_PID"
sleep 1
kill -0 "$TOCKD_PID" || fail "tockd died on a broken config"
grep -q "reload failed" "$TMP/tockd.log" || fail "broken reload not logged"
expect "after a broken reload" "0 5 47505300"
td_stop
echo "PASS"
