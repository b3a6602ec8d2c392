#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# NTS interoperability end to end: tock-ke + tockd in one namespace, chronyd 4.3 as the NTS
# client in another. `chronyd -Q` must measure the clock through NTS ("System clock wrong by
# ... seconds (ignored)") over IPv4 and IPv6, with the io_uring transport and the recvmmsg
# fallback. Then a continuously polling chronyd keeps getting authenticated answers while
# tock-ke is restarted: no NAK, no failed NTS request.
source "$(dirname "$0")/tockd_lib.bash"
[ -x "$KE" ] || skip "$KE not built"
command -v chronyd >/dev/null || skip "chronyd not installed"
command -v openssl >/dev/null || skip "openssl not installed"
td_setup
EXTRA_PIDS=
chmod 755 "$TMP"

stop_chronyd() { # the pidfile names chronyd itself (its NTS-KE helper exits with it)
	[ -s "$TMP/chronyd.pid" ] && kill "$(cat "$TMP/chronyd.pid")" 2>/dev/null
	rm -f "$TMP/chronyd.pid"
	[ -n "$EXTRA_PIDS" ] && wait "$EXTRA_PIDS" 2>/dev/null
	EXTRA_PIDS=
}
td_cleanup_hook() { stop_chronyd; }

KE_CONF=$(td_nts_conf "ntslisten $SRV6 4460")

stat_sum() { # COUNTER-COLUMN (2 = rx, see stats.h order): summed over workers
	td_stats | awk -v c="$1" '{s += $c} END {print s + 0}'
}
# stats.h order: RX PLAIN_ANSWERED NTS_ANSWERED ... NAK_UNKNOWN_KEY NAK_BAD_COOKIE NAK_BAD_TAG
COL_NTS=4 COL_NAK1=8 COL_NAK2=9 COL_NAK3=10

td_make_certs $SRV4 $SRV6
for mode in io_uring recvmmsg; do
	echo "== $mode"
	opt=()
	[ $mode = recvmmsg ] && opt=(--no-io-uring)
	td_conf "$KE_CONF"
	td_ke_start
	td_start "$KE_CONF" "${opt[@]}"
	grep -q "transport $mode" "$TMP/tockd.log" || fail "expected transport $mode: $(cat "$TMP/tockd.log")"
	td_chronyd_q $SRV4
	td_chronyd_q $SRV6
	nts=$(stat_sum $COL_NTS)
	[ "$nts" -ge 2 ] || fail "tockd answered only $nts NTS requests"
	echo "  tockd NTS answers: $nts"
	td_stop
	td_ke_stop
	rm -rf "$TMP/run"
done

echo "== restart tock-ke while tockd serves"
td_conf "$KE_CONF"
td_ke_start
td_start "$KE_CONF"
cli timeout 60 chronyd -d -x -u root "server $SRV4 iburst nts minpoll -2 maxpoll -2" \
	"ntstrustedcerts $TMP/ca.pem" "pidfile $TMP/chronyd.pid" "bindcmdaddress /" \
	"cmdport 0" "ntsdumpdir $TMP/nts" >"$TMP/chronyd.log" 2>&1 &
EXTRA_PIDS=$!
wait_nts() { # MIN
	for _ in $(seq 100); do
		[ "$(stat_sum $COL_NTS)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "NTS answers stuck at $(stat_sum $COL_NTS) (wanted $1): $(tail -n 5 "$TMP/chronyd.log")"
}
wait_nts 3
before=$(stat_sum $COL_NTS)
td_ke_stop
echo "  tock-ke stopped after $before NTS answers"
wait_nts $((before + 3)) # tockd keeps serving from the mapped keys
td_ke_start
mid=$(stat_sum $COL_NTS)
echo "  tock-ke restarted at $mid NTS answers"
wait_nts $((mid + 4))
naks=$(( $(stat_sum $COL_NAK1) + $(stat_sum $COL_NAK2) + $(stat_sum $COL_NAK3) ))
rx=$(stat_sum 2)
echo "  NTS answers $(stat_sum $COL_NTS), requests $rx, NAKs $naks"
[ "$naks" -eq 0 ] || fail "$naks NTS requests got a NAK across the restart"
grep -qi "NAK" "$TMP/chronyd.log" && fail "chronyd saw a NAK: $(grep -i NAK "$TMP/chronyd.log")"
stop_chronyd
td_stop
td_ke_stop
echo "PASS"
