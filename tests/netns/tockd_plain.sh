#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tockd answers plain NTP (ntpdig) over IPv4 and IPv6, with the io_uring transport and with
# the recvmmsg fallback (--no-io-uring and `io_uring off`), and exits cleanly on SIGTERM; its
# start-up line names the AES back-end: AES-NI on a CPU that has it, OpenSSL when forced.
source "$(dirname "$0")/tockd_lib.bash"
command -v ntpdig >/dev/null || skip "ntpdig not installed"
td_setup

run_case() { # NAME EXPECTED-TRANSPORT CONF [opts]
	local name=$1 want=$2 conf=$3
	shift 3
	echo "== $name"
	td_start "$conf" "$@"
	grep -q "transport $want" "$TMP/tockd.log" || fail "$name: expected transport $want"
	td_check_ntpdig $SRV4
	td_check_ntpdig $SRV6
	# the answer comes from the address the request was sent to (pktinfo)
	td_query $SRV4 >/dev/null || fail "$name: IPv4 query"
	td_query $SRV6 >/dev/null || fail "$name: IPv6 query"
	td_stop
	[ -e "$TMP/run/tockd.sock" ] && fail "$name: control socket left behind"
	[ -e "$TMP/run/tockd.stats" ] && fail "$name: stats file left behind"
	rm -rf "$TMP/run"
}

CONF=$'workers 2\nstratum 1\nrefid GPS'
run_case io_uring io_uring "$CONF"
run_case no-io-uring-flag recvmmsg "$CONF" --no-io-uring
run_case io_uring-off recvmmsg "$CONF"$'\nio_uring off'

echo "== AES back-end"
want=openssl
grep -qw aes /proc/cpuinfo && want=aes-ni
td_start "$CONF"
grep -q "serving NTP (AES-SIV on $want)" "$TMP/tockd.log" ||
	fail "expected AES-SIV on $want: $(grep 'serving NTP' "$TMP/tockd.log")"
td_stop
TOCK_SIV_NO_AESNI=1 td_start "$CONF"
grep -q "serving NTP (AES-SIV on openssl)" "$TMP/tockd.log" ||
	fail "TOCK_SIV_NO_AESNI=1 did not force OpenSSL: $(grep 'serving NTP' "$TMP/tockd.log")"
td_check_ntpdig $SRV4
td_stop
echo "ok: AES-SIV on $want, and on openssl when forced"

# -n: config check only
printf 'workers 2\n' >"$TMP/ok.conf"
printf 'workers lots\n' >"$TMP/bad.conf"
"$TOCKD" -n -f "$TMP/ok.conf" >/dev/null || fail "-n rejected a valid config"
out=$("$TOCKD" -n -f "$TMP/bad.conf" 2>&1) && fail "-n accepted a bad config"
echo "  -n on a bad config: $out"
[[ $out == *bad.conf:1* ]] || fail "-n message does not name file:line"
echo "PASS"
