# SPDX-License-Identifier: MIT
# Shared by tests/netns/tockd_*.sh (sourced, not run): two network namespaces joined by a
# veth pair, tockd started in the server one. Names tock-td-*; 198.18.0.0/24, 2001:2::/64.
#   SRV=198.18.0.1 / 2001:2::1 (tockd)   CLI=198.18.0.2 / 2001:2::2 (clients)
# TOCK_B selects the build directory (default build).

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
B=${TOCK_B:-build}
TOCKD=$PWD/$B/bin/tockd
NS_S=tock-td-srv-$$
NS_C=tock-td-cli-$$
SRV4=198.18.0.1 SRV6=2001:2::1
TMP=$(mktemp -d /tmp/tock-td.XXXXXX)
TOCKD_PID=

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$TMP/tockd.log" ] && tail -n 30 "$TMP/tockd.log"; exit 1; }

td_cleanup() {
	# a test may define td_cleanup_hook for processes of its own (tock-ke, chronyd)
	declare -F td_cleanup_hook >/dev/null && td_cleanup_hook
	[ -n "$TOCKD_PID" ] && kill "$TOCKD_PID" 2>/dev/null && wait "$TOCKD_PID" 2>/dev/null
	for p in ${EXTRA_PIDS:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	rm -rf "$TMP"
}

td_setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	[ -x "$TOCKD" ] || skip "$TOCKD not built"
	trap td_cleanup EXIT
	ip netns add "$NS_S" && ip netns add "$NS_C" || fail "cannot create namespaces"
	ip link add td-s type veth peer name td-c || fail "veth"
	ip link set td-s netns "$NS_S"
	ip link set td-c netns "$NS_C"
	ip -n "$NS_S" addr add 198.18.0.1/24 dev td-s
	ip -n "$NS_C" addr add 198.18.0.2/24 dev td-c
	ip -n "$NS_S" addr add 2001:2::1/64 dev td-s nodad
	ip -n "$NS_C" addr add 2001:2::2/64 dev td-c nodad
	for n in "$NS_S" "$NS_C"; do
		ip -n "$n" link set lo up
	done
	ip -n "$NS_S" link set td-s up
	ip -n "$NS_C" link set td-c up
}

# td_start CONF-TEXT [tockd options...]: writes $TMP/tockd.conf, starts tockd -d, waits for it.
td_start() {
	local conf=$1
	shift
	mkdir -p "$TMP/run"
	printf 'rundir %s\n%s\n' "$TMP/run" "$conf" >"$TMP/tockd.conf"
	: >"$TMP/tockd.log" # before the start, so an older run's lines cannot be mistaken
	ip netns exec "$NS_S" "$TOCKD" -f "$TMP/tockd.conf" -d "$@" >>"$TMP/tockd.log" 2>&1 &
	TOCKD_PID=$!
	for _ in $(seq 50); do
		grep -q "serving NTP" "$TMP/tockd.log" && return 0
		kill -0 "$TOCKD_PID" 2>/dev/null || fail "tockd exited at start-up"
		sleep 0.1
	done
	fail "tockd did not start within 5 s"
}

# td_stop: SIGTERM, expect a clean exit 0 within 5 s.
td_stop() {
	local rc
	kill -TERM "$TOCKD_PID"
	for _ in $(seq 50); do
		kill -0 "$TOCKD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$TOCKD_PID" 2>/dev/null && fail "tockd ignored SIGTERM"
	wait "$TOCKD_PID"
	rc=$?
	TOCKD_PID=
	[ "$rc" -eq 0 ] || fail "tockd exited with $rc after SIGTERM"
}

# cli CMD...: runs in the client namespace.
cli() { ip netns exec "$NS_C" "$@"; }

# td_query ADDR: one mode-3 request from the client namespace; prints "li stratum refid-hex
# rootdelay rootdisp" of the answer, or fails.
td_query() {
	cli python3 - "$1" <<'PY'
import socket, struct, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
req = bytearray(48); req[0] = (4 << 3) | 3; req[40:48] = b'\x01\x02\x03\x04\x05\x06\x07\x08'
s.sendto(req, (a, 123))
d, _ = s.recvfrom(2048)
assert len(d) == 48 and d[0] & 7 == 4 and d[24:32] == req[40:48], "bad answer"
rd, rdisp = struct.unpack('!II', d[4:12])
print(d[0] >> 6, d[1], d[12:16].hex(), rd / 65536.0, rdisp / 65536.0)
PY
}

# td_stat WORKER COUNTER-INDEX: a counter from RUNDIR/tockd.stats (layout in stats.h).
td_stats() {
	python3 - "$TMP/run/tockd.stats" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
magic, ver, nb, nc = struct.unpack_from('<QIII', b, 0)
assert magic == 0x5354415453434f54, "bad magic"
blk = (nc * 8 + 63) // 64 * 64
for w in range(nb):
    c = struct.unpack_from('<%dQ' % nc, b, 64 + w * blk)
    print(w, *c)
PY
}
