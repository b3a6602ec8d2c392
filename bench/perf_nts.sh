#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Where tockd's CPU per NTS response goes: tock-ke + tockd (one worker, CPU 0) in a network
# namespace, tock-bench sending NTS at a fixed rate from another (CPU 1), `perf record` on
# tockd meanwhile. Prints tock-bench's server CPU per response and perf's split between
# tockd's own code (tock + crypto), the C library, and the kernel by area.
# Not part of `make test`; needs root and perf. Bounded: one load run of PERF_S seconds.
#
#   bash bench/perf_nts.sh                 # UDP sockets (io_uring)
#   PERF_AFXDP=1 bash bench/perf_nts.sh    # XDP native on the veth + AF_XDP
#   PERF_PLAIN=1 ...                       # plain NTP instead of NTS: the same path without
#                                          # the crypto, i.e. the floor under tockd's own work
#   PERF_RATE=20000 PERF_S=5 TOCK_B=build bash bench/perf_nts.sh
#   PERF_DATA=/tmp/tockd.perf ...          # keep perf.data there for `perf report -i`
source "$(dirname "$0")/../tests/netns/tockd_lib.bash"
NS_S=tock-perf-s$$
NS_C=tock-perf-c$$
RATE=${PERF_RATE:-20000}
SECS=${PERF_S:-5}
BENCH=$PWD/$B/bin/tock-bench
command -v perf >/dev/null || skip "perf not installed"
[ -x "$BENCH" ] && [ -x "$KE" ] || skip "build first (make)"

td_setup ps pc
td_make_certs $SRV4 $SRV6
conf=$(td_nts_conf)
conf=${conf/workers 2/workers 1}
[ "${PERF_AFXDP:-0}" = 1 ] && conf+=$'\n'"xdp ps native"$'\n'"xdp afxdp on"
td_conf "$conf"
td_ke_start
td_start "$conf"
grep -E "afxdp:|transport|AES-SIV" "$TMP/tockd.log" | sed 's/^/  tockd: /'

perf record -q -g -o "$TMP/perf.data" -p "$TOCKD_PID" -- sleep $((SECS + 2)) >/dev/null 2>&1 &
perf_pid=$!
sleep 0.5
load=(nts $SRV4 --ke $SRV4:4460 --ca "$TMP/ca.pem")
[ "${PERF_PLAIN:-0}" = 1 ] && load=(ntp $SRV4)
cli timeout $((SECS + 30)) taskset -c 1 "$BENCH" "${load[@]}" \
	--rate "$RATE" --duration "$SECS" --server-pid "$TOCKD_PID" --csv >"$TMP/bench.csv" ||
	fail "tock-bench failed"
wait $perf_pid
# context switches of all of tockd's threads over the run (≈ its sleeps and wake-ups)
cat /proc/"$TOCKD_PID"/task/*/status 2>/dev/null |
	awk '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 }
		END { printf "  tockd context switches: %d voluntary, %d involuntary\n", v, n }'
awk -F, '$1 == "nts" || $1 == "ntp" { printf "  %s sent, %s answered; tockd CPU per response %s us\n", $5, $6, $18 }' \
	"$TMP/bench.csv"

[ -n "${PERF_DATA:-}" ] && cp "$TMP/perf.data" "$PERF_DATA"

# Self time by DSO, and the kernel's share split by what the top kernel symbols are for.
perf report -i "$TMP/perf.data" --no-children --sort dso --stdio 2>/dev/null |
	awk '/^ +[0-9.]+%/ { printf "  %-8s %s\n", $1, $2 }' | head -n 8
echo "  top symbols (self):"
perf report -i "$TMP/perf.data" --no-children --sort sym --stdio 2>/dev/null |
	awk '/^ +[0-9.]+%/ { $2 = ""; printf "   %s\n", $0 }' | head -n 25
