#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tockd's AF_XDP path (`xdp IFACE native` + `xdp afxdp on`) on a veth pair (copy mode):
#  (a) chronyd 4.3 (-Q) measures the clock through NTS over IPv4 and IPv6, and the answers
#      went through AF_XDP: the XDP program counted redirects, the AF_XDP workers' counter
#      blocks hold the NTS answers and the socket workers' rx stays 0;
#  (b) with the fast path off, ntpdig (plain NTP, IPv4 and IPv6) is answered via AF_XDP too,
#      and frames that are not ours (a request to an address tockd does not listen on) are
#      counted drops;
#  (c) with `xdp afxdp off` the socket workers answer as before and nothing is redirected;
#  (d) two interfaces, one with two rx queues: three sockets (the XSKMAP keys of the two
#      interfaces must not collide), requests on both answered through AF_XDP;
#  (e) the program attached in generic (skb) mode: AF_XDP works the same.
source "$(dirname "$0")/tockd_lib.bash"
NS_S=tock-xsk-s$$
NS_C=tock-xsk-c$$
CTL=$PWD/$B/bin/tockctl
for f in "$KE" "$CTL"; do [ -x "$f" ] || skip "$f not built"; done
for c in chronyd ntpdig openssl python3; do command -v $c >/dev/null || skip "$c missing"; done
td_cleanup_hook() { # tockd must let go of the pins before the bpffs goes
	[ -n "$TOCKD_PID" ] && kill "$TOCKD_PID" 2>/dev/null && wait "$TOCKD_PID" 2>/dev/null
	TOCKD_PID=
	umount -l "$TMP/bpffs" 2>/dev/null
}
WORKERS=2 # td_nts_conf's `workers 2`: stats blocks 0..1 are the socket workers

# block_sum NAME FIRST LAST: a worker counter summed over stats blocks FIRST..LAST (LAST -1:
# to the end); the index comes from stats.h as in td_wsum.
block_sum() {
	python3 - "$TMP/run/tockd.stats" "$1" "$2" "$3" <<'PY'
import re, struct, sys
names = re.findall(r'X\(\w+,\s*"(\w+)"', open("userspace/lib/stats.h").read().split("TOCK_KE_STATS(X)")[0])
b = open(sys.argv[1], 'rb').read()
magic, ver, nb, nc = struct.unpack_from('<QIII', b, 0)
blk = (nc * 8 + 63) // 64 * 64
i, first, last = names.index(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
last = nb - 1 if last < 0 else last
print(sum(struct.unpack_from('<Q', b, 64 + w * blk + 8 * i)[0] for w in range(first, last + 1)))
PY
}
sock() { block_sum "$1" 0 $((WORKERS - 1)); } # the UDP socket workers
xsk() { block_sum "$1" $WORKERS -1; }          # the AF_XDP workers
xstat() { "$CTL" -r "$TMP/run" serverstats 2>/dev/null | awk -v k="$1" '$1 == k { print $3 }'; }
# "socket/AF_XDP" worker counts as serverstats prints them
nworkers() {
	"$CTL" -r "$TMP/run" serverstats 2>/dev/null | awk -F': *' '
		$1 ~ /^tockd workers / { s = $2 } $1 ~ /^tockd AF_XDP workers / { x = $2 }
		END { print s "/" x }'
}

td_setup xs xc
mkdir -p "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs" || skip "cannot mount a bpffs"
export TOCK_BPF_DIR=$TMP/bpffs/tock
chmod 755 "$TMP"
td_make_certs $SRV4 $SRV6
BASE=$(td_nts_conf "ntslisten $SRV6 4460"$'\n'"xdp xs native"$'\n'"xdp afxdp on")
td_conf "$BASE"
td_ke_start

echo "== (a) NTS through AF_XDP"
td_start "$BASE"
grep -q "xdp: attached to xs in native mode" "$TMP/tockd.log" || skip "no native XDP on a veth: $(grep xdp "$TMP/tockd.log")"
grep -q "afxdp: xs queue 0 in copy mode" "$TMP/tockd.log" ||
	skip "no AF_XDP socket on the veth: $(grep afxdp "$TMP/tockd.log")"
grep -q "afxdp: 1 socket" "$TMP/tockd.log" || fail "expected one AF_XDP socket (one rx queue)"
[ "$(nworkers)" = "$WORKERS/1" ] || fail "serverstats: socket/AF_XDP workers $(nworkers) (want $WORKERS/1)"
td_chronyd_q $SRV4
td_chronyd_q $SRV6
nts_x=$(xsk nts_answered) nts_s=$(sock nts_answered) rx_s=$(sock rx_packets)
redir=$(xstat xdp_redirected_afxdp)
echo "  NTS answers: AF_XDP $nts_x, sockets $nts_s; socket rx $rx_s; XDP redirects $redir"
[ "$nts_x" -ge 2 ] || fail "AF_XDP workers answered $nts_x NTS requests (want >= 2)"
[ "$nts_s" = 0 ] && [ "$rx_s" = 0 ] || fail "the socket workers saw requests (rx $rx_s, NTS $nts_s)"
[ "${redir:-0}" -ge "$nts_x" ] || fail "xdp_redirected_afxdp = '$redir' < $nts_x"
[ "$(xsk afxdp_tx)" -ge "$nts_x" ] || fail "afxdp_tx = $(xsk afxdp_tx)"
[ "$(xsk ts_kernel)" -ge "$nts_x" ] ||
	fail "receive stamps not from the XDP metadata: ts_kernel $(xsk ts_kernel), ts_daemon $(xsk ts_daemon)"
echo "ok: NTS over IPv4 and IPv6 answered through AF_XDP, stamped in XDP"

echo "== (b) plain NTP through AF_XDP (fast path off)"
plain0=$(xsk plain_answered)
td_check_ntpdig $SRV4
cli timeout 10 ntpdig -t 2 -6 $SRV6 >/dev/null 2>&1 || fail "ntpdig -6 $SRV6"
plain1=$(xsk plain_answered)
[ $((plain1 - plain0)) -ge 2 ] || fail "AF_XDP workers answered $((plain1 - plain0)) plain requests (want >= 2)"
[ "$(sock rx_packets)" = 0 ] || fail "the socket workers saw plain requests"
echo "ok: ntpdig over IPv4 and IPv6 answered through AF_XDP ($((plain1 - plain0)))"
# 198.18.0.9 is routed to the veth but not ours: the XDP program still redirects it (it
# does not know our addresses), the AF_XDP worker must refuse it as the kernel would
ip -n "$NS_S" addr add 198.18.0.9/32 dev xs
td_stop
td_start "${BASE/xdp afxdp on/xdp afxdp on}"$'\n'"listen $SRV4"$'\n'"listen $SRV6"
drop0=$(xsk drop_frame)
cli python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(bytes([0x23]) + bytes(47), ("198.18.0.9", 123))
PY
sleep 0.5
drop1=$(xsk drop_frame)
[ $((drop1 - drop0)) -eq 5 ] || fail "requests to an address not listened on: drop_frame $drop0 -> $drop1 (want +5)"
[ "$(xsk plain_answered)" = 0 ] || fail "answered a request to an address not listened on"
td_check_ntpdig $SRV4
echo "ok: frames for an address tockd does not listen on: 5 counted drops; $SRV4 still answered"
td_stop

echo "== (c) afxdp off: the socket workers answer"
td_start "${BASE/xdp afxdp on/xdp afxdp off}"
grep -q "afxdp:" "$TMP/tockd.log" && fail "AF_XDP set up although off: $(grep afxdp: "$TMP/tockd.log")"
td_chronyd_q $SRV4
td_check_ntpdig $SRV4
[ "$(sock nts_answered)" -ge 1 ] || fail "socket workers answered no NTS request"
[ "$(sock plain_answered)" -ge 1 ] || fail "socket workers answered no plain request"
[ "$(xstat xdp_redirected_afxdp)" = 0 ] || fail "redirects with afxdp off"
[ "$(nworkers)" = "$WORKERS/0" ] || fail "afxdp off: socket/AF_XDP workers $(nworkers) (want $WORKERS/0)"
echo "ok: afxdp off: NTS $(sock nts_answered) and plain $(sock plain_answered) answered by the socket workers"
td_stop

echo "== (d) two interfaces, one with two rx queues"
ip link add xs2 numtxqueues 2 numrxqueues 2 netns "$NS_S" type veth peer name xc2 \
	numtxqueues 2 numrxqueues 2 netns "$NS_C" || fail "second veth"
ip -n "$NS_S" addr add 198.18.3.1/24 dev xs2
ip -n "$NS_C" addr add 198.18.3.2/24 dev xc2
ip -n "$NS_S" link set xs2 up
ip -n "$NS_C" link set xc2 up
td_start "$BASE"$'\n'"xdp xs2 native"
grep -q "afxdp: xs2 queue 1 in copy mode" "$TMP/tockd.log" || fail "no socket for xs2 queue 1: $(grep afxdp "$TMP/tockd.log")"
grep -q "afxdp: 3 sockets" "$TMP/tockd.log" || fail "expected 3 AF_XDP sockets: $(grep afxdp "$TMP/tockd.log")"
[ "$(nworkers)" = "$WORKERS/3" ] || fail "serverstats: socket/AF_XDP workers $(nworkers) (want $WORKERS/3)"
for _ in 1 2 3; do td_check_ntpdig 198.18.3.1 >/dev/null; done
td_check_ntpdig $SRV4
n=$(xsk plain_answered)
[ "$n" -ge 4 ] || fail "AF_XDP workers answered $n of 4 plain requests on two interfaces"
[ "$(sock rx_packets)" = 0 ] || fail "the socket workers saw requests"
echo "ok: two interfaces, three sockets: $n answers through AF_XDP"
td_stop

echo "== (e) generic XDP"
td_start "${BASE/xdp xs native/xdp xs generic}"
grep -q "xdp: attached to xs in generic mode" "$TMP/tockd.log" || fail "not attached in generic mode"
td_chronyd_q $SRV4
td_check_ntpdig $SRV4
[ "$(xsk nts_answered)" -ge 1 ] && [ "$(xsk plain_answered)" -ge 1 ] ||
	fail "generic mode: AF_XDP answered NTS $(xsk nts_answered), plain $(xsk plain_answered)"
[ "$(sock rx_packets)" = 0 ] || fail "generic mode: the socket workers saw requests"
echo "ok: generic mode: NTS and plain NTP through AF_XDP"
td_stop
echo "PASS"
