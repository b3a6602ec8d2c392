#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The TLS floor under an NTS-KE session, per TLS stack: builds bench/ke_tls_floor*.c against
# the OpenSSL, GnuTLS and (when libwolfssl-dev is installed) wolfSSL at hand and runs each with
# the same certificate and group, the stacks interleaved round by round so that a busy
# neighbour hits them alike. Prints the server's CPU per session (min and median over batches
# of 50 sessions: interference only ever adds time, so the minimum is the steadiest figure).
# Not part of `make test` or `make bench`; no network, no root.
#
#   bash bench/ke_tls_floor.sh            # 3 rounds of 1000 sessions
#   FLOOR_ROUNDS=5 FLOOR_N=2000 FLOOR_CPU=1 bash bench/ke_tls_floor.sh
set -u
cd "$(dirname "$0")" || exit 1
ROUNDS=${FLOOR_ROUNDS:-3}
N=${FLOOR_N:-1000}
CPU=${FLOOR_CPU:-}
W=$(mktemp -d /tmp/ke-tls-floor.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT

PIN=()
[ -n "$CPU" ] && PIN=(taskset -c "$CPU")
CFLAGS=(-O2 -Wall -Wextra -Wno-unused-parameter)
cc "${CFLAGS[@]}" -o "$W/openssl" ke_tls_floor.c -lssl -lcrypto || exit 1
HAVE=(openssl)
cc "${CFLAGS[@]}" -o "$W/gnutls" ke_tls_floor_gnutls.c -lgnutls 2>/dev/null && HAVE+=(gnutls)
cc "${CFLAGS[@]}" -o "$W/wolfssl" ke_tls_floor_wolfssl.c -lwolfssl 2>/dev/null && HAVE+=(wolfssl)

for k in ec ed25519; do
	if [ $k = ec ]; then ko=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); else ko=(-newkey ed25519); fi
	openssl req -x509 "${ko[@]}" -nodes -days 2 -subj /CN=floor -keyout "$W/$k.key" \
		-out "$W/$k.crt" >/dev/null 2>&1 || exit 1
done

# One case: stack, key type, group (the only one the client offers).
run_case() {
	local stack=$1 key=$2 group=$3 args
	case $stack in
	openssl) args=(-k "$key" -g "$group") ;;
	gnutls) args=(-c "$W/$key.crt" -k "$W/$key.key" -g "$([ "$group" = P-256 ] && echo SECP256R1 || echo X25519)") ;;
	wolfssl) args=(-c "$W/$key.crt" -k "$W/$key.key" -g "$([ "$group" = P-256 ] && echo p256 || echo x25519)") ;;
	esac
	"${PIN[@]}" "$W/$stack" -n "$N" "${args[@]}" | tail -n 1 |
		awk -v c="$stack $key $group" '{ print c, $6, $8 }'
}

for ((r = 1; r <= ROUNDS; r++)); do
	for key in ec ed25519; do
		for group in X25519 P-256; do
			for s in "${HAVE[@]}"; do run_case "$s" "$key" "$group"; done
		done
	done
done >"$W/all"
echo "server CPU per NTS-KE-shaped TLS 1.3 session, in-process (us; $ROUNDS rounds x $N sessions)"
printf '%-8s %-8s %-7s %10s %10s\n' stack key group "min" "median"
cut -d' ' -f1-3 "$W/all" | sort -u | while read -r s k g; do
	grep "^$s $k $g " "$W/all" >"$W/case"
	printf '%-8s %-8s %-7s %10s %10s\n' "$s" "$k" "$g" \
		"$(cut -d' ' -f4 "$W/case" | sort -n | head -n 1)" \
		"$(cut -d' ' -f5 "$W/case" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
done
