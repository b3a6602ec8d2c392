#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs one netns system test against the ASan/UBSan builds of tockd, tock-ke, tockctl,
# tock-bench and the test helpers ($B/asand, from `make asan-progs`), and fails it when a
# sanitizer reported anything — also from a daemon running in the background, whose report
# (a leak at exit, say) would not change the test's own verdict. Exit codes are the test's
# (77 = skip); tests/run.sh runs it for every netns test that exercises the daemons.
#   bash tests/asan_netns.sh NAME        (B = the main build directory, default build)
set -u
cd "$(dirname "$0")/.."
name=$1
B=${B:-build}
A=$B/asand
[ -f "tests/netns/$name.sh" ] || { echo "no test tests/netns/$name.sh"; exit 2; }
[ -x "$A/bin/tockd" ] || { echo "SKIP: no sanitizer build in $A (make asan-progs)"; exit 77; }

logs=$(mktemp -d /tmp/tock-asan.XXXXXX) || exit 1
trap 'rm -rf "$logs"' EXIT
chmod 1777 "$logs" # the daemons write their reports here after dropping to an unprivileged user
# Stop at the first error. The smaller quarantine (freed memory ASan holds back, 256 MB by
# default) keeps memory checks such as ke_negative's RSS limit meaningful.
export ASAN_OPTIONS=log_path=$logs/asan:halt_on_error=1:detect_leaks=1:quarantine_size_mb=16
export UBSAN_OPTIONS=log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1
# ops_metrics links a program against $B/lib/libtock.a, sanitized here
B=$A TOCK_B=$A CC="${CC:-cc} -fsanitize=address,undefined" bash "tests/netns/$name.sh"
rc=$?

reports=$(find "$logs" -type f -size +0c | sort)
if [ -n "$reports" ]; then
	for f in $reports; do
		echo "== $f"
		head -n 60 "$f"
	done
	echo "FAIL: sanitizer report(s) above (test exit code $rc)"
	exit 1
fi
[ $rc = 0 ] && echo "PASS, no sanitizer report"
exit $rc
