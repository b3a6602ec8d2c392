#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tock-ke sends the certificate chain of its chain file, exactly: with a leaf signed by an
# intermediate CA, a client that trusts only the root completes NTS-KE when the file holds
# leaf + intermediate (2 certificates on the wire), and fails when it holds the leaf alone
# (1 certificate: tock-ke builds no chain of its own, SSL_MODE_NO_AUTO_CHAIN) — the second
# case shows that the first check can fail.
set -u
source "$(dirname "$0")/ke_common.inc"

ke_require
ke_setup

# root ($TMP/ca.pem, from ke_setup) → intermediate → leaf for $SRV_IP
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$TMP/int.cnf"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/int.key" \
	-out "$TMP/int.csr" -subj "/CN=tock test intermediate" 2>/dev/null &&
	openssl x509 -req -in "$TMP/int.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
		-CAcreateserial -out "$TMP/int.pem" -days 2 -extfile "$TMP/int.cnf" 2>/dev/null ||
	fail "intermediate CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/leaf.key" \
	-out "$TMP/leaf.csr" -subj "/CN=$SRV_IP" 2>/dev/null &&
	openssl x509 -req -in "$TMP/leaf.csr" -CA "$TMP/int.pem" -CAkey "$TMP/int.key" \
		-CAcreateserial -out "$TMP/leaf.pem" -days 2 -extfile "$TMP/ext.cnf" 2>/dev/null ||
	fail "leaf certificate"
chmod 644 "$TMP/leaf.key"

# certificates the server sends
sent_certs() {
	cli timeout 10 openssl s_client -connect $SRV_IP:$KE_PORT -alpn ntske/1 -showcerts \
		</dev/null 2>/dev/null | grep -c 'BEGIN CERTIFICATE'
}

# ---- leaf + intermediate ---------------------------------------------------------------------
cat "$TMP/leaf.pem" "$TMP/int.pem" >"$TMP/srv.pem"
cp "$TMP/leaf.key" "$TMP/srv.key"
ke_conf "user nobody"
ke_start
n=$(sent_certs)
[ "$n" = 2 ] || fail "leaf + intermediate file: $n certificates sent, want 2"
out=$(ke_ok) || fail "a client trusting the root only failed with the full chain: $out"
ok "leaf + intermediate: 2 certificates sent, the root alone verifies them"
ke_stop

# ---- leaf alone: nothing added, so the same client must fail ---------------------------------
cp "$TMP/leaf.pem" "$TMP/srv.pem"
ke_start
n=$(sent_certs)
[ "$n" = 1 ] || fail "leaf-only file: $n certificates sent, want 1"
ke_ok >/dev/null 2>&1 && fail "a client trusting the root only verified a leaf sent without its intermediate"
ok "leaf alone: 1 certificate sent, and the same client refuses it"
ke_stop
echo "PASS"
