#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tockd follows its `xdp IFACE` interfaces through rtnetlink (kmod-free/linkwatch.c):
#  - configured with `xdp lw0 native` while lw0 does not exist, tockd starts, serves (on
#    loopback) and logs that it waits for lw0; the userspace filter covers it meanwhile;
#  - creating the veth pair lw0/lwp0 attaches the program (after the drop to nobody): ip link
#    shows it, tockctl probe lists it, mode 7 packets are dropped and counted by XDP and never
#    reach the workers, plain NTP is still answered;
#  - deleting lw0 is logged; re-creating it attaches again (a new ifindex), and XDP drops;
#  - delete and re-create back to back (one batch of notifications) ends attached too;
#  - SIGTERM: clean exit, nothing left attached;
#  - started with lw0 attached (no userspace filter), lw0 replaced by an interface that
#    another program already holds: the attach fails and the userspace filter takes over.
source "$(dirname "$0")/tockd_lib.bash"
NS_S=tock-lw-s$$
NS_C=tock-lw-c$$
CTL=$PWD/$B/bin/tockctl
ATTACH=$PWD/$B/tests/helpers/xdp_attach
for f in "$CTL" "$ATTACH"; do [ -x "$f" ] || skip "$f not built"; done
command -v ethtool >/dev/null || skip "ethtool missing"
PASS_PID=
td_cleanup_hook() {
	[ -n "$PASS_PID" ] && kill "$PASS_PID" 2>/dev/null && wait "$PASS_PID" 2>/dev/null
	[ -n "$TOCKD_PID" ] && kill "$TOCKD_PID" 2>/dev/null && wait "$TOCKD_PID" 2>/dev/null
	TOCKD_PID=
	umount -l "$TMP/bpffs" 2>/dev/null
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	[ -x "$TOCKD" ] || skip "$TOCKD not built"
	trap td_cleanup EXIT
	ip netns add "$NS_S" && ip netns add "$NS_C" || fail "cannot create namespaces"
	for n in "$NS_S" "$NS_C"; do ip -n "$n" link set lo up; done
	mkdir -p "$TMP/bpffs"
	mount -t bpf bpf "$TMP/bpffs" || skip "cannot mount a bpffs"
	export TOCK_BPF_DIR=$TMP/bpffs/tock
}

# veth_up: the pair lw0 (server) / lwp0 (client), addressed, checksums off, a pass program
# on the peer (XDP_TX frames reach a veth peer only when it runs XDP too, DESIGN §11).
veth_up() {
	[ -n "$PASS_PID" ] && kill "$PASS_PID" 2>/dev/null && wait "$PASS_PID" 2>/dev/null
	PASS_PID=
	ip link add lw0 netns "$NS_S" type veth peer name lwp0 netns "$NS_C" || fail "veth"
	ip -n "$NS_S" addr add 198.18.0.1/24 dev lw0
	ip -n "$NS_C" addr add 198.18.0.2/24 dev lwp0
	ip -n "$NS_S" link set lw0 up
	ip -n "$NS_C" link set lwp0 up
	ip netns exec "$NS_S" ethtool -K lw0 tx off >/dev/null
	ip netns exec "$NS_C" ethtool -K lwp0 tx off >/dev/null
	: >"$TMP/pass.out"
	ip netns exec "$NS_C" "$ATTACH" lwp0 --pass --timeout 120 >"$TMP/pass.out" 2>&1 &
	PASS_PID=$!
	for _ in $(seq 30); do grep -q ready "$TMP/pass.out" && break; sleep 0.1; done
	grep -q ready "$TMP/pass.out" || skip "cannot attach XDP to a veth: $(cat "$TMP/pass.out")"
}

ifindex() { ip -n "$NS_S" -o link show dev lw0 2>/dev/null | cut -d: -f1; }
has_xdp() { ip -n "$NS_S" link show dev lw0 2>/dev/null | grep -q 'prog/xdp'; }
# wait_log PATTERN COUNT: until the log has COUNT lines matching PATTERN (5 s at most)
wait_log() {
	for _ in $(seq 50); do
		[ "$(grep -c "$1" "$TMP/tockd.log")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "log: want $2 line(s) matching '$1'"
}
# wait_xdp: until ip link shows a program on lw0 (5 s at most)
wait_xdp() {
	for _ in $(seq 50); do has_xdp && return 0; sleep 0.1; done
	fail "no XDP program on lw0 ($1)"
}
# xstat NAME: an XDP counter from the pinned maps, through tockctl serverstats --json
xstat() {
	"$CTL" -r "$TMP/run" serverstats --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("xdp", {}).get(sys.argv[1], 0))' "$1"
}
# send7 COUNT: mode 7 (monlist) packets from the client namespace
send7() {
	cli python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[1])):
    s.sendto(bytes([0x17, 0, 3, 42]) + bytes(4), ("198.18.0.1", 123))
PY
}
# drops_rise BEFORE: 40 mode 7 packets, all dropped in XDP; the workers' rx stays put
drops_rise() {
	local before=$1 rx0 v
	rx0=$(td_wsum rx_packets)
	send7 40
	for _ in $(seq 20); do
		v=$(xstat xdp_drop_mode_private)
		[ "${v:-0}" -ge $((before + 40)) ] && break
		sleep 0.1
	done
	[ "${v:-0}" -ge $((before + 40)) ] || fail "xdp_drop_mode_private = '$v' (want >= $((before + 40)))"
	[ "$(td_wsum rx_packets)" = "$rx0" ] || fail "mode 7 reached the workers"
	echo "ok: 40 mode 7 packets dropped in XDP (xdp_drop_mode_private $before -> $v)"
}
# query ADDR [NS]: one mode-3 request; succeeds when a server answer comes back
query() {
	ip netns exec "${2:-$NS_C}" python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
req = bytearray(48); req[0] = (4 << 3) | 3; req[40:48] = b'lnkwatch'
s.sendto(req, (sys.argv[1], 123))
d, _ = s.recvfrom(2048)
assert len(d) == 48 and d[0] & 7 == 4 and d[24:32] == req[40:48], "bad answer"
PY
}

setup
chmod 755 "$TMP"
echo "== start without lw0"
td_start "workers 1
stratum 1
refid GPS
user nobody
xdp lw0 native"
grep -q "waiting for lw0" "$TMP/tockd.log" || fail "no 'waiting for lw0' in the log"
grep -q "filter: in userspace" "$TMP/tockd.log" || fail "the userspace filter is not on"
grep -q "maps pinned in $TOCK_BPF_DIR" "$TMP/tockd.log" || fail "maps not pinned"
query 127.0.0.1 "$NS_S" || fail "tockd does not answer on loopback"
"$CTL" -r "$TMP/run" serverstats --json >/dev/null 2>&1 || fail "tockctl serverstats"
echo "ok: tockd serves without lw0 and waits for it"

echo "== lw0 appears"
veth_up
wait_log "lw0 appeared" 1
wait_xdp "after the veth was created"
grep -q "xdp: attached to lw0 in native mode" "$TMP/tockd.log" || fail "not attached natively"
idx1=$(ifindex)
ip netns exec "$NS_S" "$CTL" probe | grep -E "^ +lw0 .*xdp native, prog [0-9]+ tock_xdp" ||
	fail "tockctl probe does not list lw0 with tock's program: $(ip netns exec "$NS_S" "$CTL" probe | tail -n 4)"
drops_rise 0
query 198.18.0.1 || fail "no answer to plain NTP through lw0"
echo "ok: attached to lw0 (ifindex $idx1) after the drop to nobody"

echo "== lw0 deleted, then re-created"
before=$(xstat xdp_drop_mode_private)
ip -n "$NS_S" link del lw0
wait_log "lw0 (ifindex $idx1) is gone" 1
veth_up
wait_log "lw0 appeared" 2
wait_xdp "after the veth was re-created"
idx2=$(ifindex)
[ "$idx2" != "$idx1" ] || fail "lw0 kept its ifindex $idx1 (not re-created?)"
drops_rise "$before"
echo "ok: re-attached to the new lw0 (ifindex $idx2)"

echo "== delete and re-create back to back"
before=$(xstat xdp_drop_mode_private)
ip -n "$NS_S" link del lw0
veth_up
for _ in $(seq 50); do
	idx3=$(ifindex)
	grep -q "lw0 .*ifindex $idx3" "$TMP/tockd.log" && has_xdp && break
	sleep 0.1
done
grep -q "lw0 .*ifindex $idx3" "$TMP/tockd.log" || fail "the third lw0 ($idx3) not logged"
wait_xdp "after a quick delete and re-create"
drops_rise "$before"
kill -0 "$TOCKD_PID" || fail "tockd died"
echo "ok: attached to the third lw0 (ifindex $idx3)"

echo "== SIGTERM"
grep "xdp: lw0" "$TMP/tockd.log" | sed "s/^/   log: /"
td_stop
has_xdp && fail "program still attached after SIGTERM"
[ -e "$TOCK_BPF_DIR/stats" ] && fail "pins left behind after SIGTERM"
grep -qi "error\|cannot" "$TMP/tockd.log" && fail "errors in the log: $(grep -i 'error\|cannot' "$TMP/tockd.log")"
echo "ok: clean exit, nothing attached"

echo "== re-attach impossible: the userspace filter takes over"
td_start "workers 1
stratum 1
refid GPS
user nobody
xdp lw0 native"
grep -q "filter: in XDP" "$TMP/tockd.log" || fail "the userspace filter runs though lw0 is attached"
ip -n "$NS_S" link del lw0
wait_log "is gone" 1
kill "$PASS_PID" 2>/dev/null && wait "$PASS_PID" 2>/dev/null
# another program holds lwtmp (a bpf_link: tockd cannot replace it) before it becomes lw0
ip link add lwtmp netns "$NS_S" type veth peer name lwp0 netns "$NS_C" || fail "veth"
: >"$TMP/pass.out"
ip netns exec "$NS_S" "$ATTACH" lwtmp --pass --timeout 120 >"$TMP/pass.out" 2>&1 &
PASS_PID=$!
for _ in $(seq 30); do grep -q ready "$TMP/pass.out" && break; sleep 0.1; done
grep -q ready "$TMP/pass.out" || fail "cannot attach the competing program"
ip -n "$NS_S" link set lwtmp name lw0
ip -n "$NS_S" addr add 198.18.0.1/24 dev lw0
ip -n "$NS_C" addr add 198.18.0.2/24 dev lwp0
ip -n "$NS_S" link set lw0 up
ip -n "$NS_C" link set lwp0 up
wait_log "userspace filter runs from now on" 1
d0=$(td_wsum drop_mode_private)
send7 40
for _ in $(seq 20); do [ "$(td_wsum drop_mode_private)" -ge $((d0 + 40)) ] && break; sleep 0.1; done
[ "$(td_wsum drop_mode_private)" -ge $((d0 + 40)) ] ||
	fail "mode 7 not dropped by the userspace filter ($d0 -> $(td_wsum drop_mode_private))"
query 198.18.0.1 || fail "no answer to plain NTP through lw0 (userspace filter)"
ip -n "$NS_S" link set lw0 down && ip -n "$NS_S" link set lw0 up # more events for lw0
sleep 0.3
[ "$(grep -c "cannot attach to lw0" "$TMP/tockd.log")" = 1 ] || fail "the failed attach was retried"
grep "xdp: lw0\|userspace filter runs" "$TMP/tockd.log" | sed "s/^/   log: /"
td_stop
echo "ok: lw0 could not be attached; the workers filtered its mode 7 packets"
echo "PASS"
