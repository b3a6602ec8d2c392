#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two workers both serve: requests from many source ports spread over the SO_REUSEPORT group,
# every worker's block in RUNDIR/tockd.stats counts some, the sum equals what was sent, and
# `chronyc -h RUNDIR/tockd.sock serverstats` reports the same numbers. Both transports.
source "$(dirname "$0")/tockd_lib.bash"
command -v chronyc >/dev/null || skip "chronyc not installed"
td_setup

SOCKS=250 PER=4 # 1000 requests per address family, bounded

send_load() { # ADDR → prints answers received
	cli timeout 60 python3 - "$1" $SOCKS $PER <<'PY'
import socket, sys, select, time
addr, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(n)]
req = bytearray(48); req[0] = (4 << 3) | 3
got = 0
for r in range(per):
    for s in socks:
        s.sendto(req, (addr, 123))
    deadline = time.time() + 2
    want = n * (r + 1)
    while got < want and time.time() < deadline:
        ready, _, _ = select.select(socks, [], [], 0.2)
        for s in ready:
            s.recv(2048); got += 1
print(got)
PY
}

run_case() { # NAME [opts]
	local name=$1 got4 got6 total rx sum
	shift
	echo "== $name"
	td_start $'workers 2\nstratum 1\nrefid GPS' "$@"
	got4=$(send_load $SRV4) || fail "load over IPv4"
	got6=$(send_load $SRV6) || fail "load over IPv6"
	total=$((2 * SOCKS * PER))
	echo "  sent $total, answered $((got4 + got6))"
	[ $((got4 + got6)) -ge $((total * 95 / 100)) ] || fail "$name: too few answers"
	td_stats >"$TMP/stats.txt" || fail "cannot read tockd.stats"
	# column 2 is STAT_RX (the first counter)
	while read -r w rx _; do
		echo "  worker $w: rx $rx"
		[ "$rx" -gt 0 ] || fail "$name: worker $w received nothing"
	done <"$TMP/stats.txt"
	sum=$(awk '{s += $2} END {print s}' "$TMP/stats.txt")
	[ "$sum" -eq "$total" ] || fail "$name: workers counted $sum requests, sent $total"
	ip netns exec "$NS_S" chronyc -h "$TMP/run/tockd.sock" serverstats >"$TMP/ss.txt" ||
		fail "chronyc serverstats failed"
	sed 's/^/  | /' "$TMP/ss.txt"
	rx=$(awk -F: '/NTP packets received/ {gsub(/ /, "", $2); print $2}' "$TMP/ss.txt")
	[ "$rx" = "$total" ] || fail "$name: serverstats says $rx received, sent $total"
	grep -q "NTP packets dropped *: 0" "$TMP/ss.txt" || fail "$name: drops reported"
	grep -q "Command packets received *: 1" "$TMP/ss.txt" || fail "$name: command count"
	td_stop
	rm -rf "$TMP/run"
}

run_case io_uring
run_case recvmmsg --no-io-uring
echo "PASS"
