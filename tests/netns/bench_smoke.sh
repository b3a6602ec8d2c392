#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark harness itself, tiny and fast: bench/compare.sh against tock only, at a few
# hundred requests per second for a second per run, in its own namespaces. It checks that
# the harness runs and that every number of the table was parsed — not speed.
# Then tock-bench alone: its table output, --self-test, and a bad option.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${TOCK_B:-build}
TMP=

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	[ -f "$TMP/log" ] && tail -n 20 "$TMP/log"
	# the raw tock-bench output, kept in the results file
	[ -n "$TMP" ] && sed -n '/^```$/,/^```$/p' "$TMP"/results/*.md 2>/dev/null
	exit 1
}
cleanup() { [ -n "$TMP" ] && rm -rf "$TMP"; }

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
for f in tockd tock-ke tock-bench; do
	[ -x "$B/bin/$f" ] || skip "$B/bin/$f not built"
done
command -v openssl >/dev/null || skip "openssl missing"
trap cleanup EXIT
TMP=$(mktemp -d /tmp/tock-bench-smoke.XXXXXX)

# ---- tock-bench alone ------------------------------------------------------------------
BENCH=$B/bin/tock-bench
out=$("$BENCH" ntp --self-test --rate 2000 --duration 0.5 --drain 0.1) || fail "self-test failed"
echo "$out" | grep -Eq '^ +0 +2000 +[0-9]+ ' || fail "self-test table not as expected: $out"
out=$("$BENCH" nts --self-test --rate 2000 --duration 0.5 --drain 0.1 --csv) ||
	fail "NTS self-test failed"
echo "$out" | grep -Eq '^nts,0,2000,0.500,[0-9]+,' || fail "NTS self-test CSV: $out"
"$BENCH" ntp --no-such-option >/dev/null 2>&1 && fail "accepted an unknown option"
"$BENCH" nosuch >/dev/null 2>&1 && fail "accepted an unknown subcommand"

# ---- the harness, tiny ---------------------------------------------------------------------
export B BENCH_SERVERS=tock BENCH_RESULTS=$TMP/results BENCH_NS=tock-bench-smoke
export BENCH_STEP_S=1 BENCH_STEPS=2 BENCH_MULT=2 BENCH_NTP_START=200 BENCH_NTS_START=100
export BENCH_NTP_FIXED=200 BENCH_NTS_FIXED=100 BENCH_FIXED_S=1 BENCH_KE_S=1 BENCH_KE_C=2
export BENCH_FLOOD_S=1 BENCH_FLOOD_RATE=2000 BENCH_NORMAL_RATE=100 BENCH_FLOOD_XDP=off
export BENCH_FASTPATH_RATE=200
timeout --kill-after=10 240 bash bench/compare.sh >"$TMP/table" 2>"$TMP/log"
rc=$?
cat "$TMP/table"
[ $rc -eq 0 ] || fail "compare.sh exited $rc"

# Every row has a number for tock (and "-" for the absent chronyd and the ratio).
n=0
while IFS='|' read -r _ label tock _; do
	label=$(echo "$label" | sed 's/^ *//; s/ *$//')
	tock=${tock// /}
	[[ $label == metric || $label == -* || -z $label ]] && continue
	[[ $tock =~ ^(\>=)?[0-9]+(\.[0-9]+)?$ ]] || fail "no number for '$label': '$tock'"
	n=$((n + 1))
done <"$TMP/table"
[ $n -eq 21 ] || fail "expected 21 metric rows, parsed $n"
# The fastpath rows measured tockd's XDP program, not its workers.
grep -q "answers counted by its fast path" "$TMP/log" || fail "fastpath scenario did not run"
grep -q "fastpath: tockd XDP [a-z]*, attached, [1-9][0-9]* answers" "$TMP/log" ||
	fail "fastpath: nothing answered in XDP: $(grep 'fastpath:' "$TMP/log")"
# The nts-afxdp rows measured tockd's AF_XDP workers, not its sockets.
grep -q "nts-afxdp: tockd XDP [a-z]*, attached, [1-9][0-9]* redirected by XDP, [1-9][0-9]* answered through AF_XDP" "$TMP/log" ||
	fail "nts-afxdp: nothing answered through AF_XDP: $(grep 'nts-afxdp:' "$TMP/log")"

# At these rates tock answers (nearly) everything, even on a busy machine.
grep -E 'loss \(%\)' "$TMP/table" | awk -F'|' '$3 + 0 >= 5 { bad = 1 } END { exit !bad }' &&
	fail "more than 5% loss at a trivial rate"
ls "$TMP/results"/*.md >/dev/null 2>&1 || fail "no results file written"
grep -q "^- machine: " "$TMP/results"/*.md || fail "results file lacks the machine line"
ip netns list | grep -q tock-bench-smoke && fail "namespaces left behind"
echo "PASS: harness ran, $n metrics parsed"
