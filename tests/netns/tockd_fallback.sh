#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fallback ladder at the daemon level (DESIGN §2): each rung is forced, tockd must log
# the rung it fell back to and still answer ntpdig over IPv4 and IPv6.
#   1. --no-io-uring                    → recvmmsg transport, logged
#   2. sysctl kernel.io_uring_disabled=2 → io_uring unavailable, recvmmsg transport, logged,
#      and `tockctl probe` says io_uring is not available. The sysctl is global: it is set
#      only for tockd's start-up (a fraction of a second) and restored by a trap.
#   3. hwtimestamp on a veth (no NIC timestamping) → software timestamps, logged
# Namespaces tock-tr-*; 198.18.0.0/24 and 2001:2::/64.
source "$(dirname "$0")/tockd_lib.bash"
command -v ntpdig >/dev/null || skip "ntpdig not installed"
TOCKCTL=$PWD/$B/bin/tockctl
NS_S=tock-tr-srv-$$
NS_C=tock-tr-cli-$$
SYSCTL=/proc/sys/kernel/io_uring_disabled
SYSCTL_OLD=

restore_sysctl() {
	[ -n "$SYSCTL_OLD" ] || return 0
	echo "$SYSCTL_OLD" >"$SYSCTL" || echo "WARNING: could not restore $SYSCTL to $SYSCTL_OLD"
	SYSCTL_OLD=
}
td_cleanup_hook() { restore_sysctl; }

expect_log() { # WHAT GREP-PATTERN
	local line
	line=$(grep -m1 -E "$2" "$TMP/tockd.log") || fail "$1: no log line matching /$2/"
	echo "  log: $line"
}

# The receive-timestamp counters summed over the workers: "kernel hardware daemon".
stamps() {
	"$TOCKCTL" -r "$TMP/run" serverstats --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["tockd"]
print(d["ts_kernel"], d["ts_hardware"], d["ts_daemon"])'
}

# NAME: answers over IPv4 and IPv6, stamped by the kernel, none by the NIC. (The kernel
# switches software stamps on from a work queue after the first socket asks, so one early
# request may carry the daemon's own stamp; 3 of the 4 must be the kernel's.)
answers() {
	local st
	td_check_ntpdig $SRV4
	td_check_ntpdig $SRV6
	td_query $SRV4 >/dev/null || fail "$1: IPv4 query"
	td_query $SRV6 >/dev/null || fail "$1: IPv6 query"
	st=$(stamps) || fail "$1: tockctl serverstats"
	read -r kern hw daemon <<<"$st"
	echo "  receive stamps: kernel $kern, hardware $hw, daemon $daemon"
	[ "$kern" -ge 3 ] && [ "$hw" -eq 0 ] ||
		fail "$1: expected software (kernel) stamps only"
}

finish_case() {
	td_stop
	rm -rf "$TMP/run"
}

CONF=$'workers 2\nstratum 1\nrefid GPS'
trap 'exit 1' INT TERM # so that td_cleanup runs on a signal too
td_setup tr-s tr-c

echo "== --no-io-uring"
td_start "$CONF" --no-io-uring
expect_log "--no-io-uring" "io_uring switched off by --no-io-uring"
expect_log "--no-io-uring" "transport recvmmsg"
answers "--no-io-uring"
finish_case

echo "== kernel.io_uring_disabled=2"
if [ -w "$SYSCTL" ]; then
	SYSCTL_OLD=$(cat "$SYSCTL")
	t0=$(date +%s%N)
	echo 2 >"$SYSCTL" || fail "cannot set $SYSCTL"
	# td_start waits for "serving NTP"; the rung is chosen before that, so the window is
	# tockd's start-up plus one probe
	td_start "$CONF"
	probe=$(ip netns exec "$NS_S" timeout 5 "$TOCKCTL" probe 2>&1 | grep -m1 '^io_uring')
	restore_sysctl
	echo "  sysctl restored to $(cat "$SYSCTL") after $((($(date +%s%N) - t0) / 1000000)) ms"
	expect_log "io_uring_disabled" "io_uring unavailable .*recvmmsg"
	expect_log "io_uring_disabled" "transport recvmmsg"
	echo "  tockctl probe: $probe"
	[[ $probe == io_uring* && $probe != *yes* ]] || fail "tockctl probe did not show io_uring off"
	answers "io_uring_disabled"
	finish_case
else
	echo "  (no $SYSCTL on this kernel: rung left to --no-io-uring above)"
fi

echo "== hwtimestamp on a veth"
td_start "$CONF"$'\nhwtimestamp tr-s'
expect_log "hwtimestamp" "hwtimestamp tr-s: .*software timestamps"
expect_log "hwtimestamp" "transport (io_uring|recvmmsg)"
answers "hwtimestamp"
finish_case

# and the top rung, for contrast: io_uring when nothing is forced (only if the host has it)
echo "== nothing forced"
td_start "$CONF"
if "$TOCKCTL" probe 2>/dev/null | grep -qE '^io_uring +yes'; then
	expect_log "default" "transport io_uring"
else
	expect_log "default" "transport recvmmsg"
fi
answers "default"
finish_case
echo "PASS"
