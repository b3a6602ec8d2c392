#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Side-by-side benchmark of chronyd (4.3, as an NTS server) and tock under the same load
# (DESIGN §9) — what `make bench` runs. Not part of `make test`.
#
# Two network namespaces joined by a veth: the server side has 198.18.0.1 and 2001:2::1,
# the client side 198.18.0.2 plus simulated clients 198.18.1.1-254 (normal) and
# 198.18.2.1-62 (the abusive prefix of the flood scenario), routed back by the server.
# Each server is pinned to its own CPU(s) and tock-bench to others; each scenario runs
# against chronyd, then against tock (tock-ke + tockd) with equivalent settings:
#
#   ntp    plain NTP: stepped rate → highest answered rate with < 1% loss; then a fixed
#          rate → server CPU µs per response and latency p99
#   nts    the same with NTS (cookies from NTS-KE, every authenticator verified)
#   ke     NTS-KE sessions from parallel clients: handshakes/s, server CPU per session
#   flood  both servers rate-limit per address; one prefix floods while normal clients
#          ask at a modest rate: the fraction of normal clients' requests answered
#   fastpath  plain NTP at a fixed rate, tock answering in its XDP program (`xdp fastpath
#          on`): server CPU per response, the generator's CPU per request, their sum
#   nts-afxdp  NTS at the fixed rate once more, tock taking the requests through AF_XDP
#          (`xdp bs0 native` + `xdp afxdp on`), chronyd through its sockets as always:
#          server CPU per response, latency p99, loss
#   ntp-afxdp  the same with plain NTP (`xdp fastpath` off, so tockd's AF_XDP workers answer
#          it): the AF_XDP path without the crypto, the floor under tockd's NTS cost.
#          Not in the default list.
#
# The table (and the raw CSV) goes to stdout and to bench/results/DATE-TIME.md.
# Short by default (a few minutes); lengthen with the variables below.
#
#   BENCH_SERVERS="chronyd tock"   which servers, in order
#   BENCH_SCENARIOS="ntp nts ke flood fastpath nts-afxdp"
#   BENCH_STEP_S=2 BENCH_STEPS=10 BENCH_MULT=1.5     stepped runs
#   BENCH_NTP_START=20000 BENCH_NTS_START=5000       first step's rate
#   BENCH_NTP_FIXED=20000 BENCH_NTS_FIXED=20000 BENCH_FIXED_S=3   fixed-rate runs
#   BENCH_KE_S=5 BENCH_KE_C=32                       NTS-KE run length and concurrency
#   BENCH_FLOOD_S=5 BENCH_FLOOD_RATE=200000 BENCH_NORMAL_RATE=1000
#   BENCH_SERVER_CPUS=0 BENCH_CLIENT_CPUS=1          taskset lists ("" = no pinning)
#   BENCH_TOCK_WORKERS=<CPUs in BENCH_SERVER_CPUS>   tockd workers
#   BENCH_TOCK_XDP=off|native|generic                tockd's XDP program on the veth (off)
#   BENCH_FLOOD_XDP=native|generic|off               flood once more with tock's XDP filter
#   BENCH_FASTPATH_RATE=50000 BENCH_FASTPATH_XDP=native|generic   the fastpath scenario
#   BENCH_AFXDP_XDP=native|generic                   how tockd attaches in the nts-afxdp scenario
#   BENCH_TICK_US=USEC        tock-bench's longest pause between sends (its --tick-us, 1000):
#                             smaller spreads the requests evenly, as many real clients do,
#                             instead of bursts once a millisecond
#   BENCH_NAPI_THREADED=0|1   1: GRO on and threaded NAPI on both veth ends, so each side's
#                             receive path runs in its own napi/* kthread; the server side's
#                             kthread CPU is measured in the ntp/nts/nts-afxdp fixed-rate runs
#                             and reported per response, for both servers
#   BENCH_RESULTS=bench/results    where the markdown goes ("" = nowhere)
#   BENCH_NS=tock-bench            namespace name prefix
#   B=build                        build directory holding bin/
set -u
cd "$(dirname "$0")/.." || exit 1

B=${B:-build}
BENCH=$PWD/$B/bin/tock-bench
TOCKD=$PWD/$B/bin/tockd
TOCKKE=$PWD/$B/bin/tock-ke
TOCKCTL=$PWD/$B/bin/tockctl
SERVERS=${BENCH_SERVERS:-chronyd tock}
SCENARIOS=${BENCH_SCENARIOS:-ntp nts ke flood fastpath nts-afxdp}
STEP_S=${BENCH_STEP_S:-2}
STEPS=${BENCH_STEPS:-10}
MULT=${BENCH_MULT:-1.5}
NTP_START=${BENCH_NTP_START:-20000}
NTS_START=${BENCH_NTS_START:-5000}
NTP_FIXED=${BENCH_NTP_FIXED:-20000}
NTS_FIXED=${BENCH_NTS_FIXED:-20000}
FIXED_S=${BENCH_FIXED_S:-3}
KE_S=${BENCH_KE_S:-5}
KE_C=${BENCH_KE_C:-32}
FLOOD_S=${BENCH_FLOOD_S:-5}
FLOOD_RATE=${BENCH_FLOOD_RATE:-200000}
NORMAL_RATE=${BENCH_NORMAL_RATE:-1000}
TOCK_XDP=${BENCH_TOCK_XDP:-off}
FLOOD_XDP=${BENCH_FLOOD_XDP:-native}
FASTPATH_RATE=${BENCH_FASTPATH_RATE:-50000}
FASTPATH_XDP=${BENCH_FASTPATH_XDP:-native}
AFXDP_XDP=${BENCH_AFXDP_XDP:-native}
TICK_US=${BENCH_TICK_US-}
NAPI_THREADED=${BENCH_NAPI_THREADED:-0}
AFXDP_NOW=0       # whether that tockd takes requests through AF_XDP
AFXDP_STATE="not run"
SRV_NAPI=()       # the server veth end's napi kthreads (BENCH_NAPI_THREADED=1)
XDP_NOW=$TOCK_XDP # the mode of the tockd being started
FASTPATH_NOW=0    # whether that tockd answers plain NTP in XDP
RESULTS=${BENCH_RESULTS-bench/results}
NS=${BENCH_NS:-tock-bench}
NS_S=$NS-srv
NS_C=$NS-cli
if [ "$(nproc)" -ge 2 ]; then
	SRV_CPUS=${BENCH_SERVER_CPUS-0}
	CLI_CPUS=${BENCH_CLIENT_CPUS-1}
else
	SRV_CPUS=${BENCH_SERVER_CPUS-}
	CLI_CPUS=${BENCH_CLIENT_CPUS-}
fi
cpu_count() { # "0-2,5" → 4
	local n=0 part
	for part in ${1//,/ }; do
		if [[ $part == *-* ]]; then n=$((n + ${part#*-} - ${part%-*} + 1)); else n=$((n + 1)); fi
	done
	echo $((n > 0 ? n : 1))
}
TOCK_WORKERS=${BENCH_TOCK_WORKERS:-$(cpu_count "$SRV_CPUS")}
SRV_PIN=(env) CLI_PIN=(env)
[ -n "$SRV_CPUS" ] && SRV_PIN=(taskset -c "$SRV_CPUS")
[ -n "$CLI_CPUS" ] && CLI_PIN=(taskset -c "$CLI_CPUS")

SRV=198.18.0.1
NORMAL_PREFIX=198.18.1.0/24 NORMAL_N=254
FLOOD_PREFIX=198.18.2.0/26 FLOOD_N=62
WORK=
XDP_STATE=off
FLOOD_XDP_STATE=off
FASTPATH_STATE="not run"
PASS_OBJ=
SRV_PIDS=()
BG_PIDS=()
declare -A M # metric values: M[server,metric]

log() { echo "compare: $*" >&2; }
die() {
	echo "compare: $*" >&2
	exit 1
}
ns_s() { ip netns exec "$NS_S" "$@"; }
ns_c() { ip netns exec "$NS_C" "$@"; }

# ---- set-up and clean-up ---------------------------------------------------------------

stop_servers() {
	local p i all=("${SRV_PIDS[@]}")
	# their children too (chronyd's NTS-KE helper), in case a parent dies first
	for p in "${SRV_PIDS[@]}"; do
		mapfile -t -O "${#all[@]}" all < <(ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' ')
	done
	for p in "${all[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${all[@]}"; do
		for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SRV_PIDS=()
}

# Safety net for an interrupted run: whatever still names this run's work directory on
# its command line is ours (servers' configs, tock-bench's --ca), and nothing else is.
kill_leftovers() {
	local p
	[ -n "$WORK" ] || return 0
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$WORK/" && kill "${p#/proc/}" 2>/dev/null
	done
}

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	stop_servers
	kill_leftovers
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	[ -n "$WORK" ] && [ -z "${BENCH_KEEP:-}" ] && rm -rf "$WORK"
}

check_tools() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	[ -x "$BENCH" ] || die "$BENCH missing: run make first"
	for s in $SERVERS; do
		case $s in
		chronyd) command -v chronyd >/dev/null || die "chronyd not installed" ;;
		tock) [ -x "$TOCKD" ] && [ -x "$TOCKKE" ] || die "$TOCKD or $TOCKKE missing" ;;
		*) die "unknown server '$s'" ;;
		esac
	done
	command -v openssl >/dev/null || die "openssl missing"
	if [[ " $SCENARIOS " == *" fastpath "* ]]; then
		[[ " $SERVERS " != *" tock "* ]] || [ -x "$TOCKCTL" ] || die "$TOCKCTL missing"
		[ -f "$B/bpf/tock_pass.bpf.o" ] || command -v clang >/dev/null ||
			die "fastpath needs $B/bpf/tock_pass.bpf.o or clang to build it"
	fi
}

# Client addresses in bulk: one `ip -batch` instead of hundreds of processes.
client_addrs() {
	local i
	for ((i = 1; i <= NORMAL_N; i++)); do echo "addr add 198.18.1.$i/32 dev bc0"; done
	for ((i = 1; i <= FLOOD_N; i++)); do echo "addr add 198.18.2.$i/32 dev bc0"; done
}

setup_net() {
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	ip netns add "$NS_S" && ip netns add "$NS_C" || die "cannot create namespaces"
	ip -n "$NS_S" link add bs0 type veth peer name bc0 netns "$NS_C" || die "cannot create veth"
	ip -n "$NS_S" addr add $SRV/24 dev bs0
	ip -n "$NS_S" addr add 2001:2::1/64 dev bs0 nodad
	ip -n "$NS_C" addr add 198.18.0.2/24 dev bc0
	ip -n "$NS_C" addr add 2001:2::2/64 dev bc0 nodad
	client_addrs | ip -n "$NS_C" -batch - || die "cannot add client addresses"
	for n in "$NS_S" "$NS_C"; do
		ip -n "$n" link set lo up
	done
	ip -n "$NS_S" link set bs0 up
	ip -n "$NS_C" link set bc0 up
	# One next hop for every client address: one neighbour entry, not hundreds.
	ip -n "$NS_S" route add 198.18.1.0/24 via 198.18.0.2
	ip -n "$NS_S" route add 198.18.2.0/24 via 198.18.0.2
	# Software checksums on both ends: XDP (tock's flood defence) sees whole frames.
	ns_s ethtool -K bs0 tx off >/dev/null 2>&1
	ns_c ethtool -K bc0 tx off >/dev/null 2>&1
	ns_c ip route get $SRV >/dev/null || die "no route to the server namespace"
	[ "$NAPI_THREADED" = 1 ] && setup_napi
	return 0
}

# The napi kthreads named after a device (their names do not say which namespace).
napi_pids() { ps -e -o pid=,comm= | awk -v d="napi/$1-" 'index($2, d) == 1 { print $1 }' | sort; }

# Threaded NAPI on both veth ends: a veth runs its receive path in NAPI when GRO (or XDP) is
# on, and with `threaded` in a kthread of its own instead of the softirq of whichever task
# sent the frame. The kthreads that appear for bs0 are the server side's receive path.
setup_napi() {
	local before
	before=$(napi_pids bs0)
	ns_s ethtool -K bs0 gro on >/dev/null && ns_c ethtool -K bc0 gro on >/dev/null ||
		die "cannot turn GRO on on the veth"
	ns_s sh -c 'echo 1 >/sys/class/net/bs0/threaded' && ns_c sh -c 'echo 1 >/sys/class/net/bc0/threaded' ||
		die "cannot make the veth's NAPI threaded"
	mapfile -t SRV_NAPI < <(comm -13 <(echo "$before") <(napi_pids bs0))
	[ ${#SRV_NAPI[@]} -gt 0 ] || die "no napi kthread appeared for bs0"
	log "threaded NAPI: server side's receive path in pid(s) ${SRV_NAPI[*]}"
}

# CPU ns of the server side's napi kthreads so far (first field of schedstat).
napi_ns() {
	local p v s=0
	for p in "${SRV_NAPI[@]}"; do
		read -r v _ <"/proc/$p/schedstat" 2>/dev/null && s=$((s + v))
	done
	echo $s
}

# napi_record SERVER KEY RUN NS-BEFORE: the server side's receive-path CPU per response of a
# fixed-rate run (KEY-napi) and the server's CPU plus it (KEY-total).
napi_record() {
	[ "$NAPI_THREADED" = 1 ] || return 0
	read -r "M[$1,$2-napi]" "M[$1,$2-total]" < <(rows "$3" | tail -n 1 |
		awk -F, -v ns=$(($(napi_ns) - $4)) '{ r = $6 > 0 ? $6 : 1
			printf "%.3f %.3f\n", ns / 1000 / r, $18 + ns / 1000 / r }')
}

make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=tock-bench -addext "subjectAltName=IP:$SRV,IP:2001:2::1" \
		-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || die "openssl failed"
}

# ---- servers ------------------------------------------------------------------------------

wait_port() { # tcp|udp port seconds
	local i flag=u
	[ "$1" = tcp ] && flag=t
	for ((i = 0; i < $3 * 10; i++)); do
		ns_s ss -Hln$flag "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# The servers' processes and their children (chronyd's NTS-KE helper), comma-separated.
server_pids() {
	local p out=""
	for p in "${SRV_PIDS[@]}"; do
		out+="$p,"
		out+=$(ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' ' | tr '\n' ',')
	done
	out=${out%,}
	echo "${out:-1}" | cut -d, -f1-16
}

start_chronyd() { # ratelimit: 0|1
	local d=$WORK/chronyd
	rm -rf "$d" && mkdir -m 700 "$d"
	cat >"$d/chrony.conf" <<-EOF
		port 123
		ntsport 4460
		allow 198.18.0.0/15
		allow 2001:2::/48
		local stratum 1
		cmdport 0
		bindcmdaddress $d/chronyd.sock
		pidfile $d/chronyd.pid
		ntsdumpdir $d
		ntsserverkey $WORK/key.pem
		ntsservercert $WORK/cert.pem
		maxntsconnections 1000
	EOF
	[ "$1" = 1 ] && echo "ratelimit interval -3 burst 16 leak 2" >>"$d/chrony.conf"
	# Started with `ip netns exec` itself (which execs), never through a shell function:
	# $! must be the server's own pid, or stopping it would orphan the server.
	ip netns exec "$NS_S" "${SRV_PIN[@]}" chronyd -f "$d/chrony.conf" -x -d -u root \
		>"$d/log" 2>&1 &
	SRV_PIDS=($!)
	wait_port udp 123 10 && wait_port tcp 4460 10 || {
		tail -n 5 "$d/log" >&2
		die "chronyd did not start"
	}
}

# Whether tockd attached its XDP program to the veth (it may do so after binding).
check_xdp() {
	local i
	XDP_STATE="$XDP_NOW requested but not attached by this tockd"
	for ((i = 0; i < 30; i++)); do
		if ip -n "$NS_S" link show bs0 | grep -q xdp; then
			XDP_STATE="$XDP_NOW, attached"
			break
		fi
		sleep 0.1
	done
	log "tockd XDP: $XDP_STATE"
}

start_tock() { # ratelimit: 0|1
	local d=$WORK/tock
	# The daemons drop to nobody: it must reach the state and run directories.
	rm -rf "$d" && mkdir -m 755 "$d" && chmod 755 "$WORK"
	cat >"$d/tock.conf" <<-EOF
		listen $SRV 123
		listen 2001:2::1 123
		ntslisten $SRV 4460
		ntsservercert $WORK/cert.pem
		ntsserverkey $WORK/key.pem
		statedir $d/state
		rundir $d/run
		user nobody
		workers $TOCK_WORKERS
		stratum 1
		refid LOCL
		ntsratelimit off
		maxntsconnections 1000
	EOF
	[ "$XDP_NOW" != off ] && echo "xdp bs0 $XDP_NOW" >>"$d/tock.conf"
	[ "$FASTPATH_NOW" = 1 ] && echo "xdp fastpath on" >>"$d/tock.conf"
	[ "$AFXDP_NOW" = 1 ] && echo "xdp afxdp on" >>"$d/tock.conf"
	# The same limit as chronyd's ratelimit above: 8/s per address, bursts of 16.
	[ "$1" = 1 ] && echo "ratelimit rate 8 burst 16 prefix4 32 prefix6 64 leak 1/4" >>"$d/tock.conf"
	ip netns exec "$NS_S" "${SRV_PIN[@]}" "$TOCKKE" -f "$d/tock.conf" -d >"$d/ke.log" 2>&1 &
	SRV_PIDS=($!)
	wait_port tcp 4460 10 || {
		tail -n 5 "$d/ke.log" >&2
		die "tock-ke did not start"
	}
	ip netns exec "$NS_S" "${SRV_PIN[@]}" "$TOCKD" -f "$d/tock.conf" -d >"$d/tockd.log" 2>&1 &
	SRV_PIDS+=($!)
	wait_port udp 123 10 || {
		tail -n 5 "$d/tockd.log" >&2
		die "tockd did not start"
	}
	[ "$XDP_NOW" != off ] && check_xdp
}

start_server() { # name ratelimit
	stop_servers
	"start_$1" "$2"
	sleep 1 # let chronyd's local reference settle; both get the same pause
	# A short warm-up resolves neighbours and faults pages in before anything is measured.
	bench "$1-warmup" 30 ntp $SRV --src-prefix $NORMAL_PREFIX --clients 254 --rate 200 \
		--duration 0.5 --drain 0.2 >/dev/null
}

# ---- scenarios ----------------------------------------------------------------------------

# Runs tock-bench in the client namespace, bounded by `timeout`; CSV to $WORK/NAME.csv.
bench() { # name limit-seconds args...
	local name=$1 limit=$2 rc pace=()
	shift 2
	[ -n "$TICK_US" ] && [[ $1 == ntp || $1 == nts ]] && pace=(--tick-us "$TICK_US")
	ns_c timeout --kill-after=5 "$limit" "${CLI_PIN[@]}" "$BENCH" "$@" "${pace[@]}" --csv \
		>"$WORK/$name.csv" 2>"$WORK/$name.err"
	rc=$?
	cat "$WORK/$name.csv" >>"$WORK/raw.txt"
	[ $rc = 0 ] || log "$name: tock-bench exited $rc: $(tail -n 1 "$WORK/$name.err")"
	return $rc
}

# Data lines of a load CSV (comments and the header dropped).
rows() { grep -v '^#' "$WORK/$1.csv" | grep -v '^mode,'; }

# Highest answered rate over the steps with < 1% loss; ">=" when it is a lower bound: the
# generator lagged at that step, or it was the last step and the schedule ended first.
best_rate() {
	rows "$1" | awk -F, '
		{ loss = $5 ? ($5 - $6) / $5 : 1
		  if (loss < 0.01 && $21 > best) { best = $21; at = NR; lag = ($13 > 0.01 * $5) } }
		END { if (best == "") print "-"
		      else printf "%s%.0f\n", lag || (at == NR && NR == steps) ? ">=" : "", best }' \
		steps="$STEPS"
}

field() { rows "$1" | tail -n 1 | cut -d, -f"$2"; }

# tock-bench's arguments for ntp|nts load from the normal clients to the running server.
load_args() { # ntp|nts → LOAD_ARGS
	LOAD_ARGS=("$1" "$SRV" --src-prefix "$NORMAL_PREFIX" --clients 1016 --sockets 4
		--server-pid "$(server_pids)")
	[ "$1" = nts ] && LOAD_ARGS+=(--ke "$SRV:4460" --ca "$WORK/cert.pem")
}

# ntp|nts at the fixed rate: M[SERVER,KEY-cpu|-p99|-loss] (and -napi/-total) from run NAME.
run_fixed() { # server ntp|nts key name
	local s=$1 m=$2 k=$3 name=$4 rate ns0
	rate=$([ "$m" = ntp ] && echo "$NTP_FIXED" || echo "$NTS_FIXED")
	load_args "$m"
	ns0=$(napi_ns)
	bench "$name" $((FIXED_S + 30)) "${LOAD_ARGS[@]}" --rate "$rate" --duration "$FIXED_S"
	napi_record "$s" "$k" "$name" "$ns0"
	M[$s,$k-cpu]=$(field "$name" 18)
	M[$s,$k-p99]=$(field "$name" 16)
	M[$s,$k-loss]=$(rows "$name" | awk -F, '{ printf "%.2f", $5 ? 100 * ($5 - $6) / $5 : 100 }')
}

run_load() { # server ntp|nts
	local s=$1 m=$2 start
	start=$([ "$m" = ntp ] && echo "$NTP_START" || echo "$NTS_START")
	load_args "$m"
	bench "$s-$m-step" $((STEPS * (STEP_S + 2) + 30)) "${LOAD_ARGS[@]}" --start "$start" \
		--mult "$MULT" --step-seconds "$STEP_S" --steps "$STEPS" --stop-loss 5
	M[$s,$m-max]=$(best_rate "$s-$m-step")
	run_fixed "$s" "$m" "$m" "$s-$m-fixed"
}

run_ke() { # server
	local s=$1
	bench "$s-ke" $((KE_S + 30)) ke $SRV:4460 --ca "$WORK/cert.pem" -c "$KE_C" -t "$KE_S" \
		-n 1000000 --server-pid "$(server_pids)"
	M[$s,ke-rate]=$(field "$s-ke" 6)
	M[$s,ke-cpu]=$(field "$s-ke" 10)
	M[$s,ke-p99]=$(field "$s-ke" 8)
}

# UDP datagrams the server namespace dropped for a full socket buffer, so far.
rcvbuf_errors() {
	ns_s cat /proc/net/snmp | awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }'
}

run_flood() { # server [metric-prefix]
	local s=$1 k=${2:-flood} fpid drops0
	start_server "$s" 1
	drops0=$(rcvbuf_errors)
	bench "$s-flood-abuse" $((FLOOD_S + 40)) ntp $SRV --src-prefix $FLOOD_PREFIX \
		--clients $FLOOD_N --sockets 2 --rate "$FLOOD_RATE" --duration $((FLOOD_S + 2)) &
	fpid=$!
	BG_PIDS+=("$fpid")
	sleep 1
	bench "$s-flood-normal" $((FLOOD_S + 30)) ntp $SRV --src-prefix $NORMAL_PREFIX \
		--clients $NORMAL_N --sockets 4 --rate "$NORMAL_RATE" --duration "$FLOOD_S" \
		--server-pid "$(server_pids)"
	wait "$fpid"
	M[$s,$k-drops]=$((($(rcvbuf_errors) - drops0) / (FLOOD_S + 2)))
	M[$s,$k-normal]=$(rows "$s-flood-normal" | awk -F, '{ printf "%.1f", $5 ? 100 * $6 / $5 : 0 }')
	M[$s,$k-abuse]=$(rows "$s-flood-abuse" | awk -F, '{ printf "%.1f", $5 ? 100 * $6 / $5 : 0 }')
}

# The do-nothing XDP program for the client side (bpf/tock_pass.bpf.c): make keeps only the
# skeleton, so the object is built here when the build directory has none.
pass_obj() {
	PASS_OBJ=$PWD/$B/bpf/tock_pass.bpf.o
	[ -f "$PASS_OBJ" ] && return 0
	PASS_OBJ=$WORK/tock_pass.bpf.o
	clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c bpf/tock_pass.bpf.c \
		-o "$PASS_OBJ"
}

# The fast path's work runs in softirq, which this kind of kernel (no IRQ time accounting)
# charges to whatever task is running — mostly tock-bench, whose sends run the veth's receive
# path. So the server's CPU alone says little: the generator's CPU is kept too, for both
# servers, and the sums compared. (/proc/stat's tick-sampled busy time was tried as the
# whole machine's share: over a few seconds it varied by a factor of two between runs.)
fastpath_metrics() { # server
	read -r "M[$1,fp-srv]" "M[$1,fp-gen]" "M[$1,fp-sum]" "M[$1,fp-loss]" < <(
		rows "$1-fastpath" | tail -n 1 | awk -F, '{
			a = $6 > 0 ? $6 : 1
			printf "%.3f %.3f %.3f %.2f\n", $18, $19, $18 + $19 * $5 / a,
				$5 ? 100 * ($5 - $6) / $5 : 100 }')
}

# How many answers came from tockd's XDP program (its counter, read through tockctl). The
# maps are pinned in a bpffs tockd mounted in its own mount namespace: tockctl runs there.
fastpath_answered() {
	nsenter -t "${SRV_PIDS[1]}" -m -n "$TOCKCTL" -r "$WORK/tock/run" serverstats 2>/dev/null |
		awk '$1 == "xdp_fastpath_answered" { print $3 }'
}

# Plain NTP at one fixed rate, tock answering in XDP (XDP_TX back out of the veth), chronyd
# as usual. XDP_TX frames reach a veth's peer only when the peer runs an XDP program too,
# so the client side gets the do-nothing one for both servers: the answers of both then
# take the same path into the client namespace.
run_fastpath() { # server
	local s=$1 main_state=$XDP_STATE n
	[ -n "$PASS_OBJ" ] || pass_obj || { log "cannot build the pass program: fastpath skipped"; return; }
	ip -n "$NS_C" link set dev bc0 xdpdrv obj "$PASS_OBJ" sec xdp || {
		log "cannot attach the pass program to bc0: fastpath skipped"
		return
	}
	[ "$s" = tock ] && XDP_NOW=$FASTPATH_XDP FASTPATH_NOW=1
	start_server "$s" 0
	bench "$s-fastpath" $((FIXED_S + 30)) ntp $SRV --src-prefix $NORMAL_PREFIX --clients 1016 \
		--sockets 4 --server-pid "$(server_pids)" --rate "$FASTPATH_RATE" --duration "$FIXED_S"
	fastpath_metrics "$s"
	if [ "$s" = tock ]; then
		n=$(fastpath_answered)
		FASTPATH_STATE="tockd XDP $XDP_STATE, ${n:-no} answers counted by its fast path"
		log "fastpath: $FASTPATH_STATE"
		# without the program attached this measured tockd's workers, not the fast path
		[[ $XDP_STATE == *"not attached"* ]] && unset "M[$s,fp-srv]" "M[$s,fp-gen]" \
			"M[$s,fp-sum]" "M[$s,fp-loss]"
		XDP_NOW=$TOCK_XDP FASTPATH_NOW=0 XDP_STATE=$main_state
	fi
	stop_servers
	ip -n "$NS_C" link set dev bc0 xdpdrv off
}

# tockd's AF_XDP counters, through tockctl in its mount namespace (as fastpath_answered).
afxdp_counts() {
	nsenter -t "${SRV_PIDS[1]}" -m -n "$TOCKCTL" -r "$WORK/tock/run" serverstats 2>/dev/null |
		awk '$1 == "xdp_redirected_afxdp" { r = $3 } $1 == "afxdp_tx" { t = $3 }
			END { printf "%s redirected by XDP, %s answered through AF_XDP\n", r + 0, t + 0 }'
}

# NTS (or plain NTP) at the fixed rate once more: tock through AF_XDP, chronyd through its
# sockets (it has nothing else), back to back under the same conditions. Plain NTP through
# AF_XDP is the same path without the crypto: the floor under tockd's own work.
run_afxdp() { # server ntp|nts
	local s=$1 m=$2 main_state=$XDP_STATE k
	k=$([ "$m" = nts ] && echo nafx || echo pafx)
	[ "$s" = tock ] && XDP_NOW=$AFXDP_XDP AFXDP_NOW=1
	start_server "$s" 0
	run_fixed "$s" "$m" "$k" "$s-$m-afxdp"
	if [ "$s" = tock ]; then
		AFXDP_STATE="tockd XDP $XDP_STATE, $(afxdp_counts)"
		grep -q "afxdp: .* mode" "$WORK/tock/tockd.log" || AFXDP_STATE+=" (no AF_XDP socket!)"
		log "$m-afxdp: $AFXDP_STATE"
		# without AF_XDP this measured tockd's socket workers
		[[ $AFXDP_STATE == *"no AF_XDP"* || $AFXDP_STATE == *" 0 answered"* ]] &&
			unset "M[$s,$k-cpu]" "M[$s,$k-p99]" "M[$s,$k-loss]"
		XDP_NOW=$TOCK_XDP AFXDP_NOW=0 XDP_STATE=$main_state
	fi
	stop_servers
}

run_server() { # name
	local s=$1 sc
	log "== $s"
	start_server "$s" 0
	for sc in $SCENARIOS; do
		case $sc in
		ntp | nts) log "$s: $sc"; run_load "$s" "$sc" ;;
		ke) log "$s: NTS-KE"; run_ke "$s" ;;
		esac
	done
	if [[ " $SCENARIOS " == *" nts-afxdp "* ]]; then
		log "$s: NTS, tock through AF_XDP (${NTS_FIXED}/s)"
		run_afxdp "$s" nts
	fi
	if [[ " $SCENARIOS " == *" ntp-afxdp "* ]]; then
		log "$s: plain NTP, tock through AF_XDP (${NTP_FIXED}/s)"
		run_afxdp "$s" ntp
	fi
	if [[ " $SCENARIOS " == *" fastpath "* ]]; then
		log "$s: plain NTP, tock's XDP fast path (${FASTPATH_RATE}/s)"
		run_fastpath "$s"
	fi
	if [[ " $SCENARIOS " == *" flood "* ]]; then
		log "$s: flood"
		run_flood "$s"
		# tock's own answer to floods: the same limit, applied in XDP before the stack
		if [ "$s" = tock ] && [ "$FLOOD_XDP" != off ] && [ "$TOCK_XDP" = off ]; then
			log "$s: flood, filter in XDP ($FLOOD_XDP)"
			local main_state=$XDP_STATE
			XDP_NOW=$FLOOD_XDP
			run_flood "$s" flood-xdp
			FLOOD_XDP_STATE=$XDP_STATE
			[[ $XDP_STATE == *"not attached"* ]] && unset "M[$s,flood-xdp-normal]" \
				"M[$s,flood-xdp-abuse]" "M[$s,flood-xdp-drops]"
			XDP_NOW=$TOCK_XDP XDP_STATE=$main_state
		fi
	fi
	stop_servers
}

# ---- the table ----------------------------------------------------------------------------

ratio() { # a b → a/b, or "-"
	awk -v a="${1#>=}" -v b="${2#>=}" 'BEGIN {
		if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}

ROWS=(
	"ntp;ntp-max;plain NTP: highest rate with < 1% loss (answers/s);higher"
	"ntp;ntp-cpu;plain NTP: server CPU per response (us) @ ${NTP_FIXED}/s;lower"
	"ntp;ntp-p99;plain NTP: latency p99 (us) @ ${NTP_FIXED}/s;lower"
	"ntp;ntp-loss;plain NTP: loss (%) @ ${NTP_FIXED}/s;lower"
	"ntp;ntp-napi;plain NTP: server-side receive (napi kthread) CPU per response (us);lower"
	"ntp;ntp-total;plain NTP: server CPU + its receive path per response (us);lower"
	"nts;nts-max;NTS: highest rate with < 1% loss (answers/s);higher"
	"nts;nts-cpu;NTS: server CPU per response (us) @ ${NTS_FIXED}/s;lower"
	"nts;nts-p99;NTS: latency p99 (us) @ ${NTS_FIXED}/s;lower"
	"nts;nts-loss;NTS: loss (%) @ ${NTS_FIXED}/s;lower"
	"nts;nts-napi;NTS: server-side receive (napi kthread) CPU per response (us);lower"
	"nts;nts-total;NTS: server CPU + its receive path per response (us);lower"
	"nts-afxdp;nafx-cpu;NTS, tock via AF_XDP: server CPU per response (us) @ ${NTS_FIXED}/s;lower"
	"nts-afxdp;nafx-p99;NTS, tock via AF_XDP: latency p99 (us);lower"
	"nts-afxdp;nafx-loss;NTS, tock via AF_XDP: loss (%);lower"
	"nts-afxdp;nafx-napi;NTS, tock via AF_XDP: server-side receive (napi) CPU per response (us);lower"
	"nts-afxdp;nafx-total;NTS, tock via AF_XDP: server CPU + its receive path per response (us);lower"
	"ntp-afxdp;pafx-cpu;plain NTP, tock via AF_XDP: server CPU per response (us) @ ${NTP_FIXED}/s;lower"
	"ntp-afxdp;pafx-p99;plain NTP, tock via AF_XDP: latency p99 (us);lower"
	"ntp-afxdp;pafx-loss;plain NTP, tock via AF_XDP: loss (%);lower"
	"ntp-afxdp;pafx-napi;plain NTP, tock via AF_XDP: server-side receive (napi) CPU per response (us);lower"
	"ntp-afxdp;pafx-total;plain NTP, tock via AF_XDP: server CPU + its receive path per response (us);lower"
	"ke;ke-rate;NTS-KE: handshakes/s (${KE_C} parallel clients);higher"
	"ke;ke-cpu;NTS-KE: server CPU per session (us);lower"
	"ke;ke-p99;NTS-KE: session latency p99 (ms);lower"
	"flood;flood-normal;flood: normal clients' requests answered (%);higher"
	"flood;flood-abuse;flood: abusive prefix's requests answered (%);lower"
	"flood;flood-drops;flood: dropped at the server's full socket buffers (/s);lower"
	"flood;flood-xdp-normal;flood, tock's limit in XDP: normal requests answered (%);higher"
	"flood;flood-xdp-abuse;flood, tock's limit in XDP: abusive requests answered (%);lower"
	"fastpath;fp-srv;NTP via XDP fast path: server CPU per response (us);lower"
	"fastpath;fp-gen;NTP via XDP fast path: generator CPU per request (us);lower"
	"fastpath;fp-sum;NTP via XDP fast path: total CPU per answer (us);lower"
	"fastpath;fp-loss;NTP via XDP fast path: loss (%) @ ${FASTPATH_RATE}/s;lower"
)

print_table() {
	local row sc key label better s line
	printf '| %-58s |' "metric"
	for s in $SERVERS; do printf ' %10s |' "$s"; done
	printf ' %12s | %-6s |\n' "tock/chronyd" "better"
	printf '|%s|' "$(printf -- '-%.0s' {1..60})"
	for s in $SERVERS; do printf '%s|' "------------"; done
	printf '%s|%s|\n' "--------------" "--------"
	for row in "${ROWS[@]}"; do
		IFS=';' read -r sc key label better <<<"$row"
		[[ " $SCENARIOS " == *" $sc "* ]] || continue
		# the extra XDP flood run only happens with tock, XDP off in the main runs
		[[ $key == *-napi || $key == *-total ]] && [ "$NAPI_THREADED" != 1 ] && continue
		[[ $key == flood-xdp-* ]] &&
			{ [ "$FLOOD_XDP" = off ] || [ "$TOCK_XDP" != off ] || [[ " $SERVERS " != *" tock "* ]]; } &&
			continue
		line=$(printf '| %-58s |' "$label")
		for s in $SERVERS; do line+=$(printf ' %10s |' "${M[$s,$key]:--}"); done
		line+=$(printf ' %12s | %-6s |' "$(ratio "${M[tock,$key]:-}" "${M[chronyd,$key]:-}")" "$better")
		echo "$line"
	done
}

# The machine's busy share over a second (other work skews every number).
busy_now() {
	local a b
	read -ra a </proc/stat
	sleep 1
	read -ra b </proc/stat
	awk -v u=$((b[1] + b[2] + b[3] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[6] - a[7] - a[8])) \
		-v t=$((b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[4] - a[5] - a[6] - a[7] - a[8])) \
		'BEGIN { printf "%.0f%%\n", t ? 100 * u / t : 0 }'
}

machine() {
	local model
	model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
	echo "${model:-unknown CPU}, $(nproc) cores, Linux $(uname -r)"
}

write_results() { # table-file
	local f
	[ -n "$RESULTS" ] || return 0
	mkdir -p "$RESULTS"
	f=$RESULTS/$(date +%Y-%m-%d-%H%M%S).md
	{
		echo "# tock vs chronyd — $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		echo "- machine: $(machine)"
		echo "- chronyd: $(chronyd -v 2>&1 | head -n 1)"
		echo "- tock: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) ($(git status --porcelain 2>/dev/null | grep -q . && echo 'with local changes' || echo clean))"
		echo "- command: \`$CMDLINE\`"
		echo "- other load: machine busy $BUSY_BEFORE before the run (load average $LOAD_BEFORE)," \
			"$BUSY_AFTER after it"
		[ "${BUSY_BEFORE%\%}" -gt 10 ] || [ "${BUSY_AFTER%\%}" -gt 10 ] &&
			echo "- **other processes were using the CPUs around this run: its numbers are" \
				"not reliable**"
		echo "- pinning: servers on CPUs '${SRV_CPUS:-all}', tock-bench on '${CLI_CPUS:-all}'; tockd workers $TOCK_WORKERS, XDP $XDP_STATE (flood scenario's extra run: $FLOOD_XDP_STATE)"
		[[ " $SCENARIOS " == *" fastpath "* ]] &&
			echo "- fastpath: ${FASTPATH_RATE}/s for ${FIXED_S}s, a do-nothing XDP program on the client side for both servers; $FASTPATH_STATE"
		[[ " $SCENARIOS " == *"-afxdp "* ]] &&
			echo "- nts-afxdp/ntp-afxdp: NTS at ${NTS_FIXED}/s or plain NTP at ${NTP_FIXED}/s for ${FIXED_S}s, tockd with \`xdp bs0 $AFXDP_XDP\` and \`xdp afxdp on\` (copy mode on a veth), chronyd through its sockets; last run: $AFXDP_STATE"
		[ "$NAPI_THREADED" = 1 ] &&
			echo "- veth: GRO and threaded NAPI on both ends (BENCH_NAPI_THREADED=1): each side's receive path runs in its own napi kthread"
		echo "- load: simulated clients from $NORMAL_PREFIX over a veth between two namespaces;" \
			"steps of ${STEP_S}s from ${NTP_START}/s (NTP) and ${NTS_START}/s (NTS), x$MULT, up to $STEPS steps;" \
			"tock-bench pauses at most ${TICK_US:-1000} us between sends"
		echo
		cat "$1"
		echo
		echo "CPU per response is the servers' CPU time (every thread and child process, from"
		echo "/proc) over the responses received; \">=\" marks a lower bound: tock-bench could"
		echo "not send faster, or the schedule's last step was reached (the server was not the limit)."
		[ "$NAPI_THREADED" = 1 ] && cat <<-'EOF'

			With threaded NAPI on both veth ends, a frame's receive path (for the server: the
			XDP program, the UDP stack and the socket enqueue, or the copy into the AF_XDP
			ring) runs in the receiving side's napi kthread, not in the softirq of whichever
			task sent it. "Server-side receive" is the server end's kthread CPU over the
			responses; "server CPU + its receive path" adds it to the server's own CPU. The
			server's transmit still runs in the server (up to the veth), the client's receive
			in the client side's kthread, which is in neither figure. Same for both servers.
		EOF
		[[ " $SCENARIOS " == *" fastpath "* ]] && cat <<-'EOF'

			The XDP fast path answers in softirq, and this kernel has no IRQ time accounting:
			that work is charged to whichever task runs, mostly tock-bench (its sends run the
			veth's receive path). "Total CPU per answer" is the servers' CPU per response plus
			tock-bench's per request, for both servers. Softirqs that run on an idle CPU or
			in ksoftirqd are in neither.
		EOF
		echo
		echo "<details><summary>raw tock-bench output (CSV)</summary>"
		echo
		echo '```'
		cat "$WORK/raw.txt"
		echo '```'
		echo "</details>"
	} >"$f"
	log "results written to $f"
}

main() {
	# values quoted: BENCH_SCENARIOS and the CPU lists may hold spaces
	CMDLINE="$([ "$B" != build ] && echo "B=$B ")$(env | grep '^BENCH_[A-Z_]*=' |
		sed -E 's/^([A-Z_]+)=(.*)$/\1="\2"/' | tr '\n' ' ')bash bench/compare.sh"
	check_tools
	BUSY_BEFORE=$(busy_now)
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	[ "${BUSY_BEFORE%\%}" -gt 10 ] && log "note: the machine is already ${BUSY_BEFORE} busy"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	WORK=$(mktemp -d /tmp/tock-bench.XXXXXX)
	: >"$WORK/raw.txt"
	setup_net
	make_cert
	for s in $SERVERS; do run_server "$s"; done
	stop_servers
	BUSY_AFTER=$(busy_now)
	print_table | tee "$WORK/table.md"
	write_results "$WORK/table.md"
}

main "$@"
