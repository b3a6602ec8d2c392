#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interoperability: chronyd 4.3 as an NTS client does its NTS-KE with tock-ke across two
# network namespaces, verifying tock-ke's certificate (IP SAN 198.18.0.1) against a test CA.
# chronyd's NTP stage may fail (no tockd here); the test checks the KE: a session served,
# eight cookies issued, no handshake failure, and no NTS-KE error in chronyd's log.
set -u
source "$(dirname "$0")/ke_common.inc"

ke_require
command -v chronyd >/dev/null || skip "chronyd not installed"
ke_setup
ke_conf "user nobody"
ke_start

mkdir -p "$TMP/chrony"
cli timeout 20 chronyd -d -Q -u root "server $SRV_IP iburst nts maxsamples 1" \
	"ntstrustedcerts $TMP/ca.pem" "pidfile $TMP/chrony/chronyd.pid" \
	>"$TMP/chronyd.log" 2>&1 &
CHRONY_PID=$!
for _ in $(seq 150); do
	[ "$(ke_stat ke_sessions)" -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
sleep 0.5
kill "$CHRONY_PID" 2>/dev/null
wait "$CHRONY_PID" 2>/dev/null

echo "--- chronyd"; cat "$TMP/chronyd.log"
echo "--- tock-ke counters"; python3 "$HELPERS" stats "$TMP/run"
sessions=$(ke_stat ke_sessions) cookies=$(ke_stat ke_cookies_issued)
[ "$sessions" -ge 1 ] || fail "no NTS-KE session served to chronyd"
ok "chronyd completed $sessions NTS-KE session(s)"
[ "$cookies" -ge 8 ] || fail "only $cookies cookies issued"
ok "$cookies cookies issued"
[ "$(ke_stat ke_handshake_failed)" = 0 ] || fail "TLS handshake failures"
[ "$(ke_stat ke_aead_15)" -ge 1 ] || fail "chronyd did not get AEAD 15"
grep -Ei 'nts-ke|tls|certificate' "$TMP/chronyd.log" | grep -Eiq 'fail|error|invalid' &&
	fail "chronyd reports an NTS-KE problem"
ok "no NTS-KE error in chronyd's log"
[ -s "$TMP/run/keys" ] || fail "no key map at RUNDIR/keys"

# tockctl's NTS-KE client, when it is built, must agree
if [ -x "$B/bin/tockctl" ]; then
	if cli timeout 10 "$B/bin/tockctl" ke "$SRV_IP" --ca "$TMP/ca.pem" >"$TMP/tockctl.log" 2>&1; then
		ok "tockctl ke: $(head -n 3 "$TMP/tockctl.log" | tr '\n' ' ')"
	else
		echo "note: tockctl ke failed (rc $?): $(head -n 5 "$TMP/tockctl.log")"
	fi
fi
ke_stop
ok "tock-ke exited cleanly on SIGTERM"
[ -s "$TMP/run/keys" ] || fail "key map removed at exit"
echo "PASS"
