#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tock-ke under misuse, across two network namespaces:
#   TLS 1.2 and missing/wrong ALPN refused; an unknown critical record → Error 0; garbage →
#   Error 1; no AEAD in common → empty AEAD record and no cookies; a slow client cut at the
#   deadline; a flood of 1500 stalled connections capped at maxntsconnections 1000 while a
#   normal client is still served; 10000 connections that never send a byte; a per-source
#   rate limit; SIGHUP with a broken certificate keeps the old one serving, with a good one
#   switches to it, and a replaced file is noticed without a signal. Every refusal is counted.
set -u
source "$(dirname "$0")/ke_common.inc"

ke_require
ke_setup

# ---- protocol misuse -----------------------------------------------------------------------
ke_conf "user nobody" "ntsratelimit off" "ntstimeout 2"
ke_start

ke_ok >/dev/null || fail "a normal NTS-KE exchange fails"
ok "normal exchange: cookies received"

out=$(cli timeout 10 openssl s_client -connect $SRV_IP:$KE_PORT -tls1_2 -alpn ntske/1 \
	-CAfile "$TMP/ca.pem" </dev/null 2>&1)
echo "$out" | grep -q 'Cipher is (NONE)\|alert protocol version\|no protocols available' ||
	fail "TLS 1.2 handshake was not refused: $(echo "$out" | head -n 5)"
cli $H tls12 $SRV_IP $KE_PORT "$TMP/ca.pem" || fail "TLS 1.2 accepted"
ok "TLS 1.2 refused"

out=$(cli timeout 10 openssl s_client -connect $SRV_IP:$KE_PORT -alpn ntske/1 -CAfile "$TMP/ca.pem" \
	-msg </dev/null 2>&1)
echo "$out" | grep -q 'New, TLSv1.3' || fail "no TLS 1.3 session: $(echo "$out" | tail -n 5)"
echo "$out" | grep -qi 'NewSessionTicket\|New Session Ticket' && fail "a session ticket was sent"
cli $H ticket $SRV_IP $KE_PORT "$TMP/ca.pem" || fail "a session ticket was sent"
ok "TLS 1.3 without session tickets"

cli $H noalpn $SRV_IP $KE_PORT "$TMP/ca.pem" || fail "handshake without ALPN accepted"
cli $H noalpn $SRV_IP $KE_PORT "$TMP/ca.pem" http/1.1 || fail "ALPN http/1.1 accepted"
ok "missing or foreign ALPN refused"
[ "$(ke_stat ke_handshake_failed)" -ge 4 ] || fail "refused handshakes not counted"

# Next Protocol 0, AEAD 15, an unknown critical record 0x4242, End of Message
out=$(ke_ok 80010002000080040002000fc242000080000000)
echo "$out" | grep -q 'type=2 critical=1 len=2 body=0000' || fail "unknown critical: $out"
ok "unknown critical record → Error 0"

# an unknown non-critical record (0x4242, body "hi") is ignored
ke_ok 80010002000080040002000f42420002686980000000 >/dev/null ||
	fail "unknown non-critical record not ignored"
ok "unknown non-critical record ignored"

out=$(ke_ok 6465616462656566)
echo "$out" | grep -q 'type=2 critical=1 len=2 body=0001' || fail "garbage: $out"
ok "garbage → Error 1"

out=$(ke_ok 80010002000080040002000f80040002000f80000000)
echo "$out" | grep -q 'type=2 critical=1 len=2 body=0001' || fail "duplicate AEAD: $out"
ok "duplicate AEAD record → Error 1"

out=$(ke_ok 80010002000080040002001e80000000)
echo "$out" | grep -q 'type=4 critical=1 len=0' && ! echo "$out" | grep -q 'type=5' ||
	fail "no AEAD in common: $out"
ok "no AEAD in common → empty AEAD record, no cookies"

t=$(cli timeout 20 $H slow $SRV_IP $KE_PORT "$TMP/ca.pem")
awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t <= 3.5) }' || fail "slow client cut after $t s, not ~2"
[ "$(ke_stat ke_timeouts)" -ge 1 ] || fail "timeout not counted"
ok "slow client cut at the deadline ($t s)"

# ---- certificate reload ----------------------------------------------------------------------
cp "$TMP/srv.pem" "$TMP/srv.pem.good"
echo "not a certificate" >"$TMP/srv.pem"
kill -HUP "$KE_PID"
sleep 0.5
grep -q 'reload failed, keeping' "$TMP/ke.log" || fail "broken certificate: no reload error logged"
ke_ok >/dev/null || fail "broken certificate on SIGHUP stopped the service"
ok "SIGHUP with a broken certificate keeps the old one serving"
ke_make_cert srv # a new, valid pair in place
old_serial=$(openssl x509 -in "$TMP/srv.pem.good" -noout -serial)
new_serial=$(openssl x509 -in "$TMP/srv.pem" -noout -serial)
kill -HUP "$KE_PID"
sleep 0.5
grep -q 'certificates reloaded' "$TMP/ke.log" || fail "good certificate not reloaded"
served=$(cli timeout 10 openssl s_client -connect $SRV_IP:$KE_PORT -alpn ntske/1 \
	-CAfile "$TMP/ca.pem" </dev/null 2>/dev/null | openssl x509 -noout -serial)
[ "$served" = "$new_serial" ] && [ "$served" != "$old_serial" ] ||
	fail "served certificate $served, expected the new $new_serial"
ok "SIGHUP with a good certificate switches to it"
sleep 1 # a new mtime second
# The periodic check may already have logged a change (the pair written before the SIGHUP
# above): wait for one more line than now, not for the first.
changes=$(grep -c 'certificate files changed' "$TMP/ke.log")
ke_make_cert srv # replaced again, no signal this time: the periodic check must notice
new_serial=$(openssl x509 -in "$TMP/srv.pem" -noout -serial)
for _ in $(seq 80); do
	[ "$(grep -c 'certificate files changed' "$TMP/ke.log")" -gt "$changes" ] && break
	sleep 0.1
done
sleep 0.2
served=$(cli timeout 10 openssl s_client -connect $SRV_IP:$KE_PORT -alpn ntske/1 \
	-CAfile "$TMP/ca.pem" </dev/null 2>/dev/null | openssl x509 -noout -serial)
[ "$served" = "$new_serial" ] || fail "changed certificate file not picked up: $served"
ok "a replaced certificate file is reloaded without a signal"

# ---- connection flood against the cap --------------------------------------------------------
ke_stop
ke_conf "user nobody" "ntsratelimit off" "ntstimeout 2" "maxntsconnections 1000"
ke_start
cli timeout 30 $H flood $SRV_IP $KE_PORT 1500 4 198.18.0.3 >"$TMP/flood.log" &
FLOOD=$!
sleep 1.5 # the flood holds its slots; a stalled one is older than timeout/4 by now
ke_ok >/dev/null || fail "normal client not served during the flood"
ok "normal client served while 1500 stalled connections hit the cap"
wait $FLOOD
cat "$TMP/flood.log"
refused=$(ke_stat ke_refused_limit) evicted=$(ke_stat ke_evicted_stalled)
[ "$refused" -ge 1 ] || fail "no refusal counted at the cap"
[ "$evicted" -ge 1 ] || fail "no stalled connection evicted"
ok "at the cap: $refused refused, $evicted stalled evicted, $(ke_stat ke_timeouts) timed out"
rss=$(awk '/VmRSS/ { print $2 }' /proc/$KE_PID/status)
[ "$rss" -lt 262144 ] || fail "tock-ke RSS $rss kB after the flood"
ok "tock-ke RSS ${rss} kB"

# 10000 connections that never send a byte: none may stop a normal client
cli timeout 40 $H flood $SRV_IP $KE_PORT 10000 5 198.18.0.3 0 >"$TMP/flood0.log" &
FLOOD=$!
sleep 2
ke_ok >/dev/null || fail "normal client not served during the idle flood"
wait $FLOOD
cat "$TMP/flood0.log"
rss=$(awk '/VmRSS/ { print $2 }' /proc/$KE_PID/status)
[ "$rss" -lt 262144 ] || fail "tock-ke RSS $rss kB after the idle flood"
ok "10000 idle connections: normal client served, RSS ${rss} kB"

# ---- per-source rate limit -------------------------------------------------------------------
ke_stop
ke_conf "user nobody" "ntsratelimit rate 5 burst 10"
ke_start
cli timeout 30 $H flood $SRV_IP $KE_PORT 200 1 198.18.0.3 >/dev/null
[ "$(ke_stat ke_refused_rate)" -ge 150 ] || fail "rate limit: $(ke_stat ke_refused_rate) refused"
ke_ok >/dev/null || fail "a client from another source was limited"
ok "per-source rate limit: $(ke_stat ke_refused_rate) refused, other sources served"
ke_stop
echo "--- counters at the end"
echo "PASS"
