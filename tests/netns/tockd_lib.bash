# SPDX-License-Identifier: MIT
# Shared by tests/netns/tockd_*.sh and nts_chronyd.sh (sourced, not run): two network
# namespaces joined by a veth pair, tockd (and tock-ke) started in the server one, chronyd
# and helpers run in the client one. Names tock-td-* unless a test sets NS_S/NS_C;
# 198.18.0.0/24, 2001:2::/64.
#   SRV=198.18.0.1 / 2001:2::1 (tockd)   CLI=198.18.0.2 / 2001:2::2 (clients)
# TOCK_B selects the build directory (default build).

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
B=${TOCK_B:-build}
TOCKD=$PWD/$B/bin/tockd
KE=$PWD/$B/bin/tock-ke
NS_S=tock-td-srv-$$
NS_C=tock-td-cli-$$
SRV4=198.18.0.1 SRV6=2001:2::1
TMP=$(mktemp -d /tmp/tock-td.XXXXXX)
TOCKD_PID=
KE_PID=

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$TMP/tockd.log" ] && tail -n 30 "$TMP/tockd.log"; exit 1; }

td_cleanup() {
	[ -s "$TMP/chronyd-q.pid" ] && kill "$(cat "$TMP/chronyd-q.pid")" 2>/dev/null
	[ -n "$KE_PID" ] && kill "$KE_PID" 2>/dev/null && wait "$KE_PID" 2>/dev/null
	# a test may define td_cleanup_hook for processes and mounts of its own
	declare -F td_cleanup_hook >/dev/null && td_cleanup_hook
	[ -n "$TOCKD_PID" ] && kill "$TOCKD_PID" 2>/dev/null && wait "$TOCKD_PID" 2>/dev/null
	for p in ${EXTRA_PIDS:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	rm -rf "$TMP"
}

# td_setup [DEV_S DEV_C]: the namespaces and a veth pair between them (ends named td-s and
# td-c unless given), created inside the namespaces so that no name in the root one can
# collide with a parallel test. Both ends get their IPv4 and IPv6 address.
td_setup() {
	local s=${1:-td-s} c=${2:-td-c}

	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	[ -x "$TOCKD" ] || skip "$TOCKD not built"
	trap td_cleanup EXIT
	ip netns add "$NS_S" && ip netns add "$NS_C" || fail "cannot create namespaces"
	ip link add "$s" netns "$NS_S" type veth peer name "$c" netns "$NS_C" || fail "veth"
	ip -n "$NS_S" addr add $SRV4/24 dev "$s"
	ip -n "$NS_C" addr add 198.18.0.2/24 dev "$c"
	ip -n "$NS_S" addr add $SRV6/64 dev "$s" nodad
	ip -n "$NS_C" addr add 2001:2::2/64 dev "$c" nodad
	for n in "$NS_S" "$NS_C"; do ip -n "$n" link set lo up; done
	ip -n "$NS_S" link set "$s" up
	ip -n "$NS_C" link set "$c" up
}

# td_conf CONF-TEXT: writes $TMP/tockd.conf (with `rundir $TMP/run`), which tock-ke may read too.
td_conf() {
	mkdir -p "$TMP/run"
	printf 'rundir %s\n%s\n' "$TMP/run" "$1" >"$TMP/tockd.conf"
}

# td_start CONF-TEXT [tockd options...]: writes $TMP/tockd.conf, starts tockd -d, waits for it.
td_start() {
	td_conf "$1"
	shift
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

# td_make_certs IP...: a throw-away CA ($TMP/ca.pem) and a certificate for the NTS-KE server
# ($TMP/srv.pem, srv.key) with the IPs as subject alternative names, the first as CN.
td_make_certs() {
	local san
	san=$(printf 'IP:%s,' "$@")
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$TMP/ca.key" -out "$TMP/ca.pem" -subj "/CN=tock td CA" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TMP/srv.key" -out "$TMP/srv.csr" -subj "/CN=$1" 2>/dev/null &&
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san%,}" >"$TMP/ext.cnf" &&
	openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
		-CAcreateserial -days 2 -extfile "$TMP/ext.cnf" -out "$TMP/srv.pem" 2>/dev/null ||
		fail "certificates"
	chmod 644 "$TMP/srv.key" # tock-ke may drop privileges before it reads it
}

# td_ke_start [NS [CONF]]: tock-ke -d in NS (the server's) with CONF ($TMP/tockd.conf);
# waits until it listens on 4460.
td_ke_start() {
	local ns=${1:-$NS_S}
	ip netns exec "$ns" "$KE" -f "${2:-$TMP/tockd.conf}" -d >>"$TMP/ke.log" 2>&1 &
	KE_PID=$!
	for _ in $(seq 50); do
		ip netns exec "$ns" ss -Hltn "sport = :4460" | grep -q LISTEN && return 0
		kill -0 "$KE_PID" 2>/dev/null || fail "tock-ke exited: $(tail -n 5 "$TMP/ke.log")"
		sleep 0.1
	done
	fail "tock-ke does not listen"
}

# td_ke_stop: SIGTERM to tock-ke and wait for it.
td_ke_stop() {
	kill "$KE_PID" && wait "$KE_PID"
	KE_PID=
}

# td_chronyd_q ADDR: chronyd -Q in the client namespace, NTS-KE at ADDR with the CA of
# td_make_certs, must measure the clock ("System clock wrong by ... (ignored)").
td_chronyd_q() {
	local log=$TMP/chronyd-q.log
	cli timeout 30 chronyd -Q -u root "server $1 iburst nts maxsamples 1" \
		"ntstrustedcerts $TMP/ca.pem" "pidfile $TMP/chronyd-q.pid" \
		"ntsdumpdir $TMP/nts-q" >"$log" 2>&1
	grep -q "System clock wrong by .* seconds (ignored)" "$log" ||
		fail "chronyd -Q via $1: $(cat "$log")"
	echo "  chronyd -Q $1: $(grep -o 'System clock wrong by .*' "$log")"
}

# td_check_ntpdig ADDR: ntpdig from the client namespace must get a stratum-1 answer.
td_check_ntpdig() {
	local out
	out=$(cli timeout 10 ntpdig -t 2 "$1" 2>&1) || fail "ntpdig $1: $out"
	echo "  ntpdig $1: $out"
	[[ $out == *" s1 "* ]] || fail "ntpdig $1: expected stratum 1 in '$out'"
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

# td_wsum NAME: a worker counter (its stats.h name) from RUNDIR/tockd.stats, summed over the
# workers; the names are read from stats.h so the index never drifts from the layout.
td_wsum() {
	python3 - "$TMP/run/tockd.stats" "$1" <<'PY'
import re, struct, sys
names = re.findall(r'X\(\w+,\s*"(\w+)"', open("userspace/lib/stats.h").read().split("TOCK_KE_STATS(X)")[0])
b = open(sys.argv[1], 'rb').read()
magic, ver, nb, nc = struct.unpack_from('<QIII', b, 0)
blk = (nc * 8 + 63) // 64 * 64
i = names.index(sys.argv[2])
print(sum(struct.unpack_from('<Q', b, 64 + w * blk + 8 * i)[0] for w in range(nb)))
PY
}

# td_nts_conf [MORE-LINES]: the config text of a tockd + tock-ke pair on $SRV4 with the
# td_make_certs certificate, plus MORE-LINES (pass it to td_conf / td_start).
td_nts_conf() {
	printf '%s\n' "workers 2" "stratum 1" "refid GPS" "statedir $TMP/state" \
		"ntslisten $SRV4 4460" "ntsservercert $TMP/srv.pem" "ntsserverkey $TMP/srv.key" \
		"ntsthreads 1" "${1:-}"
}
