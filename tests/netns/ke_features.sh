#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tock-ke's features, across two network namespaces: `-n` accepts a good config and rejects
# a broken certificate with a clear message; AEAD preference (the client's first that the
# server offers, AEAD 17 → 164-byte cookies); Server and Port Negotiation records from
# ntsntpserver/ntsntpport; certificate choice by SNI; a missing `user`; key persistence across restarts; key
# rotation (counters, key id in the counters file and in new cookies); fleet keys from a seed.
set -u
source "$(dirname "$0")/ke_common.inc"

ke_require
ke_setup
# cookie key id (hex) of the first cookie in a `ke` listing
first_cookie_id() { sed -n 's/^record type=5 .* body=\(........\).*/\1/p' | head -n 1; }

# ---- -n -------------------------------------------------------------------------------------
ke_conf "user nobody"
"$KE_BIN" -f "$TMP/tock.conf" -n || fail "-n rejects a good config"
cp "$TMP/srv.pem" "$TMP/srv.pem.good"
echo "garbage" >"$TMP/srv.pem"
out=$("$KE_BIN" -f "$TMP/tock.conf" -n 2>&1) && fail "-n accepts a broken certificate"
echo "$out" | grep -q "srv.pem" || fail "-n message does not name the file: $out"
ok "-n: $out"
mv "$TMP/srv.pem.good" "$TMP/srv.pem"
echo "ntsservercert $TMP/srv.pem" >"$TMP/bad.conf"
"$KE_BIN" -f "$TMP/bad.conf" -n >/dev/null 2>&1 && fail "-n accepts a certificate without key"
ok "-n rejects a certificate without its key"

# ---- a missing user: refused, except in debug mode where tock-ke stays root and says so -------
ke_conf "user tock-no-such-user"
ip netns exec "$SRV_NS" timeout 10 "$KE_BIN" -f "$TMP/tock.conf" 2>/dev/null &&
	fail "started without -d although user tock-no-such-user does not exist"
ke_start
grep -q "STAYING ROOT" "$TMP/ke.log" || fail "no warning about staying root in -d mode"
ke_ok >/dev/null || fail "debug mode as root does not serve"
ke_stop
ok "missing user: refused without -d, loud warning with -d"

# ---- negotiation, Server/Port records, SNI --------------------------------------------------
ke_make_cert other # a second pair, chosen for SNI "ke2.test"
printf 'subjectAltName=DNS:ke2.test\nextendedKeyUsage=serverAuth\n' >"$TMP/ext2.cnf"
openssl x509 -req -in "$TMP/other.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -days 2 \
	-extfile "$TMP/ext2.cnf" -out "$TMP/other.pem" -subj "/CN=ke2.test" 2>/dev/null ||
	openssl x509 -req -in "$TMP/other.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -days 2 \
		-extfile "$TMP/ext2.cnf" -out "$TMP/other.pem" 2>/dev/null || fail "second cert"
ke_conf "user nobody" "ntsservercert $TMP/other.pem" "ntsserverkey $TMP/other.key" \
	"ntsntpserver $SRV_IP" "ntsntpport 10123"
ke_start
# Next Protocol 0, AEAD 17 then 15, End
out=$(ke_ok 800100020000800400040011000f80000000) || fail "AEAD 17 exchange: $out"
echo "$out" | grep -q 'type=4 critical=1 len=2 body=0011' || fail "AEAD 17 not chosen: $out"
echo "$out" | grep -q 'type=5 critical=0 len=164' || fail "no 164-byte cookie: $out"
ok "client preference honoured: AEAD 17, 164-byte cookies"
echo "$out" | grep -q "type=6 critical=1 len=${#SRV_IP} body=$(printf %s "$SRV_IP" | head -c 8 | od -An -tx1 | tr -d ' \n')" ||
	fail "no Server record: $out"
echo "$out" | grep -q 'type=7 critical=1 len=2 body=278b' || fail "no Port record: $out"
ok "Server and Port Negotiation records sent"
[ "$(ke_stat ke_aead_17)" = 1 ] || fail "AEAD 17 not counted"

sni_subject() { # NAME
	cli timeout 10 openssl s_client -connect $SRV_IP:$KE_PORT -alpn ntske/1 -servername "$1" \
		</dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName 2>/dev/null | tail -n 1
}
s=$(sni_subject ke2.test)
echo "$s" | grep -q 'DNS:ke2.test' || fail "SNI ke2.test served: $s"
s=$(sni_subject unknown.test)
echo "$s" | grep -q "IP Address:$SRV_IP" || fail "unknown SNI served: $s"
ok "certificate chosen by SNI, first pair by default"

# ---- persistence and rotation ---------------------------------------------------------------
id1=$(ke_stat key_id)
ke_stop
ke_start
[ "$(ke_stat key_id)" = "$id1" ] || fail "key id changed across a restart: $id1 → $(ke_stat key_id)"
grep -q "loaded cookie keys" "$TMP/ke.log" || fail "keys not loaded from the state directory"
ok "keys persist across restarts (current id $id1)"
ke_stop

ke_conf "user nobody" "ntsrotate 1"
ke_start
sleep 3.5
rot=$(ke_stat ke_key_rotations) id2=$(ke_stat key_id)
[ "$rot" -ge 2 ] || fail "$rot rotations in 3.5 s with ntsrotate 1"
[ "$id2" != "$id1" ] || fail "key id did not change"
# keys rotate every second: the exchange may straddle one, so the key current just before or
# just after it is right, and any older one is not
was=$(ke_stat key_id)
cid=$(ke_ok | first_cookie_id)
now=$(ke_stat key_id)
[ "$cid" = "$now" ] || [ "$cid" = "$was" ] ||
	fail "new cookie names key $cid, current was $was and is $now"
ok "rotation: $rot rotations, cookies sealed with the current key $now"
ke_stop

# ---- fleet keys ------------------------------------------------------------------------------
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/seed"
chmod 644 "$TMP/seed"
rm -rf "$TMP/state"
ke_conf "user nobody" "ntskeyseed $TMP/seed" "ntsrotate 3600"
ke_start
f1=$(ke_stat key_id)
ke_ok >/dev/null || fail "fleet mode exchange"
ke_stop
rm -rf "$TMP/state" "$TMP/run"
ke_start
[ "$(ke_stat key_id)" = "$f1" ] || fail "fleet key id differs after a restart with no state"
grep -q "fleet keys" "$TMP/ke.log" || fail "fleet mode not logged"
ok "fleet keys: the same id $f1 from the seed alone"
ke_stop
echo "PASS"
