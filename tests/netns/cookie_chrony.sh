#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Cookie compatibility with the real chronyd (DESIGN §5), both ways, in a private network
# namespace (198.18.77.1 on the namespace's loopback):
#  (a) chronyd is the NTS-KE server: tock's KE client gets keys and a cookie, chronyd is
#      stopped (it dumps its ntskeys), tock imports the file and opens the cookie with the
#      key the cookie names: the C2S/S2C inside must equal what the TLS exporter gave.
#  (b) tock writes its key ring in chrony 4.3's format (NKS0) into chronyd's ntsdumpdir,
#      mints a cookie with the current key and sends an NTS request carrying it: chronyd
#      must answer authenticated, with new cookies that open with tock's ring, and its own
#      NTS-KE must hand out cookies under the key tock considers current. A ring chronyd
#      does not hold must get an NTS NAK (the control that shows the check can fail).
set -u
cd "$(dirname "$0")/../.."
B=${TOCK_B:-${B:-build}} # the build directory, as in tockd_lib.bash
HELPER=$B/tests/helpers/chrony_cookie
TOCKCTL=$B/bin/tockctl
NS=tock-kk-$$
ADDR=198.18.77.1
TMP=$(mktemp -d /tmp/tock-kk.XXXXXX)
CHRONY_PID=

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$TMP/log" ] && sed 's/^/  chronyd: /' "$TMP/log"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v chronyd >/dev/null || skip "chronyd not installed"
command -v openssl >/dev/null || skip "openssl not installed"
[ -x "$HELPER" ] || skip "$HELPER not built (make $HELPER)"

stop_chronyd() {
	[ -n "$CHRONY_PID" ] || return 0
	kill "$CHRONY_PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$CHRONY_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$CHRONY_PID" 2>/dev/null && kill -9 "$CHRONY_PID" 2>/dev/null
	CHRONY_PID=
}
cleanup() {
	stop_chronyd
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NS" || skip "cannot create network namespace"
ip -n "$NS" link set lo up
# On the namespace's loopback: no dummy/veth module needed, and nothing leaves the host.
ip -n "$NS" addr add $ADDR/32 dev lo || fail "cannot add $ADDR"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=kk.test \
	-addext "subjectAltName=DNS:kk.test,IP:$ADDR" 2>/dev/null || fail "openssl req"

# start_chronyd DUMPDIR: chronyd as NTP + NTS-KE server (port 123, 4460), clock untouched.
start_chronyd() {
	cat >"$TMP/chrony.conf" <<-EOF
	ntsserverkey $TMP/key.pem
	ntsservercert $TMP/cert.pem
	ntsdumpdir $1
	cmdport 0
	pidfile $TMP/chronyd.pid
	local stratum 1
	allow 198.18.0.0/15
	EOF
	rm -f "$TMP/chronyd.pid" "$TMP/log"
	ip netns exec "$NS" chronyd -x -u root -f "$TMP/chrony.conf" -l "$TMP/log" ||
		fail "chronyd did not start"
	for _ in $(seq 50); do
		[ -s "$TMP/chronyd.pid" ] && break
		sleep 0.1
	done
	CHRONY_PID=$(cat "$TMP/chronyd.pid" 2>/dev/null) || fail "no chronyd pid file"
}

# fetch: NTS-KE with chronyd (retried while it starts listening); prints "C2S S2C COOKIE".
fetch() {
	for _ in $(seq 20); do
		ip netns exec "$NS" "$HELPER" fetch $ADDR 4460 "$TMP/cert.pem" kk.test 2>/dev/null &&
			return 0
		sleep 0.2
	done
	ip netns exec "$NS" "$HELPER" fetch $ADDR 4460 "$TMP/cert.pem" kk.test
}

check_nks0_file() { # FILE: the exact layout chronyd 4.3 writes
	local f=$1
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f"), want 600"
	[ "$(wc -l <"$f")" = 6 ] || fail "$f: $(wc -l <"$f") lines, want 6"
	[ "$(sed -n 1p "$f")" = NKS0 ] || fail "$f: line 1 '$(sed -n 1p "$f")'"
	sed -n 2p "$f" | grep -Eq '^15 [0-9]+\.[0-9]$' || fail "$f: line 2 '$(sed -n 2p "$f")'"
	[ "$(sed -n '3,6p' "$f" | grep -Ec '^[0-9A-F]{8} [0-9A-F]{64}$')" = 4 ] ||
		fail "$f: key lines"
}

echo "== (a) a cookie minted by chronyd opens in tock"
mkdir -m 700 "$TMP/a"
start_chronyd "$TMP/a"
read -r C2S S2C COOKIE < <(fetch) || true
[ -n "${COOKIE:-}" ] || fail "no NTS-KE answer from chronyd"
echo "chronyd cookie key id: ${COOKIE:0:8}"
TOCKCTL_JSON=
if [ -x "$TOCKCTL" ]; then
	TOCKCTL_JSON=$(ip netns exec "$NS" "$TOCKCTL" ke $ADDR --ca "$TMP/cert.pem" --json) ||
		fail "tockctl ke failed: $TOCKCTL_JSON"
fi
stop_chronyd
check_nks0_file "$TMP/a/ntskeys"
cat "$TMP/a/ntskeys" | cut -c1-24 | sed 's/^/  ntskeys: /'
"$HELPER" open "$TMP/a/ntskeys" "$C2S" "$S2C" "$COOKIE" || fail "tock could not open chronyd's cookie"
if [ -n "$TOCKCTL_JSON" ]; then
	read -r C2S S2C COOKIE < <(python3 -c 'import json,sys; j=json.loads(sys.argv[1]);
print(j["c2s"], j["s2c"], j["cookies"][0])' "$TOCKCTL_JSON") || fail "tockctl --json output"
	"$HELPER" open "$TMP/a/ntskeys" "$C2S" "$S2C" "$COOKIE" ||
		fail "tockctl ke's cookie does not open"
	echo "tockctl ke --json: cookie opens too"
fi
# a flipped bit in the cookie must not open
BAD=${COOKIE:0:60}$(printf %x $(( (0x${COOKIE:60:1} + 1) % 16 )))${COOKIE:61}
"$HELPER" open "$TMP/a/ntskeys" "$C2S" "$S2C" "$BAD" 2>/dev/null && fail "tampered cookie opened"

echo "== (b) a cookie minted by tock is accepted by chronyd"
mkdir -m 700 "$TMP/b"
CUR=$("$HELPER" genring "$TMP/b/ntskeys" 0) || fail "genring"
check_nks0_file "$TMP/b/ntskeys"
cp "$TMP/b/ntskeys" "$TMP/ring-b"
"$HELPER" genring "$TMP/ring-other" 0 >/dev/null || fail "genring"
start_chronyd "$TMP/b"
read -r _ _ COOKIE < <(fetch) || true
[ -n "${COOKIE:-}" ] || fail "no NTS-KE answer from chronyd"
[ "${COOKIE:0:8}" = "$(echo "$CUR" | tr A-F a-f)" ] ||
	fail "chronyd seals with key ${COOKIE:0:8}, tock's current key is $CUR"
echo "chronyd's NTS-KE seals with tock's current key $CUR"
ip netns exec "$NS" "$HELPER" query "$TMP/ring-b" $ADDR 123 || fail "chronyd rejected tock's cookie"
ip netns exec "$NS" "$HELPER" query "$TMP/ring-other" $ADDR 123 2>/dev/null
rc=$?
[ $rc = 2 ] || fail "a cookie under an unknown key got rc=$rc, want an NTS NAK (2)"
echo "control: a cookie under a key chronyd does not hold gets an NTS NAK"
stop_chronyd
echo "PASS: cookies move both ways between chronyd $(chronyd --version | awk '{print $4}') and tock"
