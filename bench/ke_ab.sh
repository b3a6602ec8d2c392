#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Two tock-ke builds side by side: A and B serve at once from one network namespace (both
# pinned to the same CPU), two `tock-bench ke` clients load them at once from another, so a
# busy neighbour slows both alike; the round is repeated with fresh servers. Prints each
# round's tock-bench line and the mean server CPU per session of A and B, and B/A. For changes
# of a few percent, which sequential runs on a shared machine cannot resolve. Needs root.
#
#   bash bench/ke_ab.sh BUILD_A BUILD_B [ROUNDS [SECONDS]]      e.g. build-old build
#
#   KE_AB_ENV_A / KE_AB_ENV_B    environment for server A / B (e.g. LD_PRELOAD=...)
#   KE_AB_KEY_A / KE_AB_KEY_B    certificate key type: ec (P-256, default) or ed25519
#   KE_AB_CLIENT_ENV_B           environment for B's client (e.g. OPENSSL_CONF=... Groups)
#   KE_AB_C=16 KE_AB_SERVER_CPU=0 KE_AB_CLIENT_CPU=1 KE_AB_WORKERS=1
# Namespaces tock-keab-srv/-cli, addresses 198.18.0.1 (A), 198.18.0.3 (B), client 198.18.0.2.
set -u
cd "$(dirname "$0")/.." || exit 1
[ $# -ge 2 ] || {
	sed -n '3,16p' "$0"
	exit 2
}
BA=$PWD/$1 BB=$PWD/$2
[[ $1 == /* ]] && BA=$1
[[ $2 == /* ]] && BB=$2
ROUNDS=${3:-4} SECS=${4:-4}
CONC=${KE_AB_C:-16} SCPU=${KE_AB_SERVER_CPU:-0} CCPU=${KE_AB_CLIENT_CPU:-1}
S=tock-keab-srv C=tock-keab-cli
PIDS=()
W=

die() {
	echo "ke_ab: $*" >&2
	exit 1
}
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}
cleanup() {
	stop_all
	ip netns del $S 2>/dev/null
	ip netns del $C 2>/dev/null
	[ -n "$W" ] && rm -rf "$W"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for b in "$BA" "$BB"; do [ -x "$b/bin/tock-ke" ] || die "$b/bin/tock-ke missing"; done
[ -x "$BA/bin/tock-bench" ] || die "$BA/bin/tock-bench missing"

W=$(mktemp -d /tmp/tock-keab.XXXXXX) || exit 1
chmod 755 "$W"
ip netns add $S && ip netns add $C || die "cannot create namespaces"
ip -n $S link add ab0 type veth peer name ab1 netns $C || die "veth"
ip -n $S addr add 198.18.0.1/24 dev ab0
ip -n $S addr add 198.18.0.3/24 dev ab0
ip -n $C addr add 198.18.0.2/24 dev ab1
for n in $S $C; do ip -n $n link set lo up; done
ip -n $S link set ab0 up && ip -n $C link set ab1 up || die "links up"

# server NAME ADDR BUILD KEYTYPE ENV: starts tock-ke; its pid in PID_NAME
server() {
	local d=$W/$1 ko
	[ -d "$d" ] || mkdir -m 755 "$d"
	if [ "$4" = ed25519 ]; then ko=(-newkey ed25519); else ko=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); fi
	[ -f "$d/cert.pem" ] || openssl req -x509 "${ko[@]}" -nodes -days 2 -subj /CN=tock-keab \
		-addext "subjectAltName=IP:$2" -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 ||
		die "certificate"
	chmod 644 "$d/key.pem"
	printf '%s\n' "ntslisten $2 4460" "ntsservercert $d/cert.pem" "ntsserverkey $d/key.pem" \
		"statedir $d/state" "rundir $d/run" "user nobody" "workers ${KE_AB_WORKERS:-1}" \
		"ntsratelimit off" "maxntsconnections 1000" >"$d/tock.conf"
	# shellcheck disable=SC2086 # ENV is a list of VAR=value words
	ip netns exec $S env ${5:-KE_AB=1} taskset -c "$SCPU" "$3/bin/tock-ke" -f "$d/tock.conf" -d \
		>"$d/ke.log" 2>&1 &
	PIDS+=($!)
	printf -v "PID_$1" %s $!
}

# client NAME ADDR ENV: one tock-bench ke run against the server NAME
client() {
	local pid_var=PID_$1
	# shellcheck disable=SC2086
	ip netns exec $C env ${3:-KE_AB=1} taskset -c "$CCPU" timeout $((SECS + 20)) \
		"$BA/bin/tock-bench" ke "$2:4460" --ca "$W/$1/cert.pem" -c "$CONC" -t "$SECS" \
		-n 1000000 --server-pid "${!pid_var}" >"$W/$1.out" 2>&1
}

for ((r = 1; r <= ROUNDS; r++)); do
	server A 198.18.0.1 "$BA" "${KE_AB_KEY_A:-ec}" "${KE_AB_ENV_A:-}"
	server B 198.18.0.3 "$BB" "${KE_AB_KEY_B:-ec}" "${KE_AB_ENV_B:-}"
	for _ in $(seq 50); do
		[ "$(ip netns exec $S ss -Hlnt 'sport = :4460' | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	client A 198.18.0.1 "" &
	ca=$!
	client B 198.18.0.3 "${KE_AB_CLIENT_ENV_B:-}" &
	cb=$!
	wait $ca $cb
	for x in A B; do echo "$x $(tail -n 1 "$W/$x.out")"; done
	stop_all
done | awk '{ print }
	/^A / { a += $8; na++ } /^B / { b += $8; nb++ }
	END { if (na && nb) printf "server CPU per session: A %.1f us, B %.1f us, B/A %.3f (%d rounds)\n",
		a / na, b / nb, (b / nb) / (a / na), na }'
