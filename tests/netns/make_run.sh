#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make run`'s script (packaging/run-demo.sh) as a new user runs it, in a private network
# namespace so that its default ports (123 and 4460 on loopback) are free: both daemons
# start, the chronyd command it prints gets an NTS answer (`System clock wrong by`), the
# counters command works, and the printed kill line stops both daemons.
set -u
cd "$(dirname "$0")/../.."
B=${TOCK_B:-build}
NS=tock-run-$$
TMP=$(mktemp -d /tmp/tock-run.XXXXXX)
PIDS=
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; tail -n 20 "$TMP"/demo/*.log 2>/dev/null; exit 1; }
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace"
command -v chronyd >/dev/null || skip "chronyd not installed"
[ -x "$B/bin/tockd" ] && [ -x "$B/bin/tock-ke" ] || skip "daemons not built"
trap cleanup EXIT
chmod 755 "$TMP" # the daemons drop to tock or nobody and read the demo files
ip netns add "$NS" && ip -n "$NS" link set lo up || fail "cannot create a namespace"

out=$(ip netns exec "$NS" env TOCK_DEMO_DETACH=1 TOCK_DEMO_DIR="$TMP/demo" TOCK_B="$B" \
	bash packaging/run-demo.sh 2>&1) || fail "run-demo.sh: $out"
PIDS=$(sed -n 's/^Stop them with: kill //p' <<<"$out")
[ "$(wc -w <<<"$PIDS")" = 2 ] || fail "no 'kill PID PID' line in: $out"
echo "  daemons: $PIDS"

# The printed query, as a user would paste it (the two quoted chronyd directives).
want="chronyd -Q -t 10 'server 127.0.0.1 port 123 ntsport 4460 iburst nts maxsamples 1' 'ntstrustedcerts $TMP/demo/ca.pem'"
grep -qF "$want" <<<"$out" || fail "the printed chronyd command is not '$want': $out"
ip netns exec "$NS" timeout 30 chronyd -Q -t 10 \
	'server 127.0.0.1 port 123 ntsport 4460 iburst nts maxsamples 1' \
	"ntstrustedcerts $TMP/demo/ca.pem" "pidfile $TMP/chronyd.pid" \
	"ntsdumpdir $TMP/nts" >"$TMP/q.log" 2>&1
grep -q "System clock wrong by .* seconds (ignored)" "$TMP/q.log" ||
	fail "chronyd -Q against the demo: $(cat "$TMP/q.log")"
echo "  $(grep -o 'System clock wrong by .*' "$TMP/q.log")"
stats=$(ip netns exec "$NS" "$B/bin/tockctl" -r "$TMP/demo/run" serverstats) ||
	fail "tockctl serverstats: $stats"
grep -qE '^Authenticated NTP packets +: [1-9]' <<<"$stats" ||
	fail "no authenticated NTP packet counted: $stats"

# The printed kill line ends both (they are this test's, started through the script).
kill $PIDS
for _ in $(seq 50); do
	alive=0
	for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && break
	sleep 0.1
done
[ $alive = 0 ] || fail "daemons still running 5 s after the printed kill"
PIDS=
echo "PASS"
