#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test tock has and ends with one line: "N passed, N failed, N skipped".
#   unit tests (plain and ASan/UBSan), BPF tests, fuzz-corpus replays, netns system tests
#   (with the plain programs, then with ASan/UBSan builds of them: tests/asan_netns.sh).
# A test exits 0 (pass), 77 (skip, with its reason printed) or anything else (fail).
# TOCK_TESTS=PATTERN runs only the tests whose name contains PATTERN.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
export TOCK_B=${TOCK_B:-$B}
pass=0 fail=0 skip=0 failed=()
log_dir=$B/test-logs
mkdir -p "$log_dir"

run_one() { # name, command...
	local name=$1
	shift
	[ -n "${TOCK_TESTS:-}" ] && [[ $name != *"$TOCK_TESTS"* ]] && return
	local log=$log_dir/${name//\//_}.log start=$SECONDS rc
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS %-40s %3ss  %s\n' "$name" $((SECONDS - start)) "$(tail -n 1 "$log")" ;;
	77) skip=$((skip + 1)); printf 'SKIP %-40s %s\n' "$name" "$(grep -m1 SKIP "$log" || tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL %-40s rc=%s (log: %s)\n' "$name" $rc "$log"
	   tail -n 20 "$log" | sed 's/^/     | /' ;;
	esac
}

for t in $B/tests/test_* $B/asan/test_* $B/tests/bpf_test_*; do
	[ -x "$t" ] && [[ $t != *.d ]] && run_one "${t#$B/}" "$t"
done
for r in $B/fuzz/replay_*; do
	[ -x "$r" ] || continue
	name=${r##*/replay_}
	run_one "fuzz/$name" "$r" "tests/fuzz/corpus/$name"
done
for s in tests/netns/*.sh; do
	[ -f "$s" ] && run_one "netns/$(basename "$s" .sh)" bash "$s"
done
# The same tests again against the ASan/UBSan builds of the programs (make asan-progs), but
# not those that test packaging and the demo or only smoke-test the benchmark.
for s in tests/netns/*.sh; do
	name=$(basename "$s" .sh)
	case $name in bench_smoke | make_run | ops_packaging) continue ;; esac
	run_one "asan-netns/$name" bash tests/asan_netns.sh "$name"
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
