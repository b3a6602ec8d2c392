#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tockctl serverstats / metrics against counter files this test writes itself (laid out as
# userspace/lib/stats.h says), then — when build/bin/tockd exists — against a live tockd in
# a network namespace. Checks chronyc's labels and format, -c, --json, the Prometheus text
# (parsed with python3-prometheus-client), that counters move, and the error messages for a
# missing, stale, unreadable or foreign file.
set -u
cd "$(dirname "$0")/../.."
B=${TOCK_B:-${B:-build}} # the build directory, as in tockd_lib.bash
CTL=$B/bin/tockctl
NS=tock-ops-metrics
TMP=$(mktemp -d /tmp/tock-ops-metrics.XXXXXX)
chmod 0700 "$TMP"
RUN=$TMP/run
mkdir -p "$RUN"
source tests/netns/ops_common.inc
ops_cleanup_hook() { umount "$TMP/bpffs" 2>/dev/null; }

[ -x "$CTL" ] || { echo "SKIP: $CTL not built (make $CTL)"; exit 77; }
$PY -c 'import prometheus_client.parser' 2>/dev/null ||
	{ echo "SKIP: python3-prometheus-client missing"; exit 77; }

# The fake writer: reads the counter lists from stats.h so the layout follows the header,
# and writes/updates RUNDIR/tockd.stats and RUNDIR/tock-ke.stats like the daemons do.
cat >"$TMP/fake.py" <<'EOF'
import mmap, os, re, struct, sys, time

MAGIC = 0x5354415453434f54
hdr = open("userspace/lib/stats.h").read()

def names(macro):
    body = hdr.split("#define %s(X)" % macro, 1)[1].split("\n\n", 1)[0]
    return re.findall(r'X\(\w+,\s*"(\w+)"', body)

NTP, KE = names("TOCK_NTP_STATS"), names("TOCK_KE_STATS")

def stride(n):
    return (n * 8 + 63) // 64 * 64

def header(n_blocks, n_counters, pid, start, key_id=0, key_created=0):
    h = struct.pack("<QIIIIqIIq", MAGIC, 1, n_blocks, n_counters, pid, start, key_id, 0,
                    key_created)
    return h + b"\0" * (64 - len(h))

def write(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)

def block(values, n):
    b = struct.pack("<%dQ" % n, *values)
    return b + b"\0" * (stride(n) - len(b))

cmd, run = sys.argv[1], sys.argv[2]
if cmd == "names":
    print(" ".join(NTP)); print(" ".join(KE))
elif cmd == "write":      # write RUN PID WORKERS SCALE
    pid, workers, scale = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    now = int(time.time())
    data = header(workers, len(NTP), pid, now - 100)
    for w in range(workers):   # counter i of worker w = scale * (i + 1) * (w + 1)
        data += block([scale * (i + 1) * (w + 1) for i in range(len(NTP))], len(NTP))
    write(run + "/tockd.stats", data)
    data = header(1, len(KE), pid, now - 50, key_id=0x1d, key_created=now - 3600)
    data += block([scale * (i + 1) for i in range(len(KE))], len(KE))
    write(run + "/tock-ke.stats", data)
elif cmd == "bump":       # bump RUN: add 5 to rx_packets of worker 0 in place (live update)
    with open(run + "/tockd.stats", "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        off = 64 + NTP.index("rx_packets") * 8
        v = struct.unpack_from("<Q", m, off)[0]
        struct.pack_into("<Q", m, off, v + 5)
        m.close()
EOF
fake() { $PY "$TMP/fake.py" "$@"; }

# --- missing file -----------------------------------------------------------------------
out=$("$CTL" -r "$RUN" serverstats 2>&1)
rc=$?
check "missing file: exit 1" [ $rc -eq 1 ]
check "missing file: says tockd is not running" \
	grep -qF "tockd is not running (no $RUN/tockd.stats)" <<<"$out"

# --- a live (fake) writer: this shell's pid ----------------------------------------------
fake write "$RUN" $$ 2 10
mapfile -t lists < <(fake names "$RUN")
read -ra NTP_NAMES <<<"${lists[0]}"
read -ra KE_NAMES <<<"${lists[1]}"
idx() { local n=$1 i; shift; for i in "${!NTP_NAMES[@]}"; do [ "${NTP_NAMES[$i]}" = "$n" ] && echo "$i"; done; }
# counter i summed over 2 workers = 10*(i+1)*(1+2)
sum_of() { echo $((10 * ($(idx "$1") + 1) * 3)); }

out=$("$CTL" -r "$RUN" serverstats)
check "serverstats: exit 0" [ $? -eq 0 ]
labels_43=("NTP packets received" "NTP packets dropped" "Command packets received"
	"Command packets dropped" "Client log records dropped" "NTS-KE connections accepted"
	"NTS-KE connections dropped" "Authenticated NTP packets" "Interleaved NTP packets"
	"NTP timestamps held" "NTP timestamp span")
labels_44=("NTP daemon RX timestamps" "NTP daemon TX timestamps" "NTP kernel RX timestamps"
	"NTP kernel TX timestamps" "NTP hardware RX timestamps" "NTP hardware TX timestamps")
expected=()
for l in "${labels_43[@]}" "${labels_44[@]}"; do expected+=("$(printf '%-27s: ' "$l")"); done
mapfile -t lines <<<"$out"
good=1
for i in "${!expected[@]}"; do
	[[ ${lines[$i]} == "${expected[$i]}"* && ${lines[$i]#"${expected[$i]}"} =~ ^[0-9]+$ ]] ||
		{ good=0; echo "     line $i: '${lines[$i]}'"; }
done
check "serverstats: chronyc's 17 labels, order and '%-27s: %u' format" [ $good -eq 1 ]
# chronyc 4.3 itself, if the binary here has the same strings (it is what exporters parse)
if strings /usr/bin/chronyc 2>/dev/null | grep -q '^NTP packets received       : %U'; then
	good=1
	for l in "${labels_43[@]}"; do
		strings /usr/bin/chronyc | grep -qF "$(printf '%-27s: %%U' "$l")" || good=0
	done
	check "serverstats: labels match /usr/bin/chronyc's format strings" [ $good -eq 1 ]
fi
rx=$(sum_of rx_packets)
check "serverstats: NTP packets received = sum of rx_packets ($rx)" \
	grep -qx "NTP packets received       : $rx" <<<"$out"
check "serverstats: Authenticated NTP packets = nts_answered" \
	grep -qx "Authenticated NTP packets  : $(sum_of nts_answered)" <<<"$out"
check "serverstats: NTS-KE connections accepted = ke_accepted (10)" \
	grep -qx "NTS-KE connections accepted: 10" <<<"$out"
check "serverstats: NTS-KE connections dropped = refused_limit + refused_rate (20+30)" \
	grep -qx "NTS-KE connections dropped : 50" <<<"$out"
missing=()
for n in "${NTP_NAMES[@]}" "${KE_NAMES[@]}"; do
	grep -qE "^$n +: [0-9]+$" <<<"$out" || missing+=("$n")
done
check "serverstats: a line for each of ${#NTP_NAMES[@]} + ${#KE_NAMES[@]} tock counters ${missing[*]:+(missing: ${missing[*]})}" \
	[ ${#missing[@]} -eq 0 ]
check "serverstats: current key id 29" grep -qE '^Current key id +: 29$' <<<"$out"
check "serverstats: current key age about 3600 s" \
	grep -qE '^Current key age \(seconds\) +: 36[0-9][0-9]$' <<<"$out"
check "serverstats: workers 2" grep -qE '^tockd workers +: 2$' <<<"$out"

csv=$("$CTL" -r "$RUN" serverstats -c)
check "serverstats -c: one line of numbers" grep -qxE '[0-9]+(,[0-9]+)+' <<<"$csv"
check "serverstats -c: first value = NTP packets received" [ "${csv%%,*}" = "$rx" ]
n_text=$(grep -c ' : \|: [0-9]' <<<"$out")
n_csv=$(tr ',' '\n' <<<"$csv" | wc -l)
check "serverstats -c: as many values ($n_csv) as text lines ($n_text)" [ "$n_csv" -eq "$n_text" ]

"$CTL" -r "$RUN" serverstats --json >"$TMP/stats.json"
check "serverstats --json: parses, values agree" $PY - "$TMP/stats.json" "$rx" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["serverstats"]["ntp_packets_received_total"] == int(sys.argv[2]), j["serverstats"]
assert j["tockd"]["workers"] == 2 and j["tock_ke"]["key_id"] == 29, j
assert j["tock_ke"]["ke_accepted"] == 10
EOF

# --- Prometheus text ----------------------------------------------------------------------
"$CTL" -r "$RUN" metrics >"$TMP/m1.txt"
check "metrics: exit 0" [ $? -eq 0 ]
cat >"$TMP/prom.py" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
def load(path):
    fams = {f.name: f for f in text_string_to_metric_families(open(path).read())}
    vals = {}
    for f in fams.values():
        for s in f.samples:
            vals[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return fams, vals
fams, v1 = load(sys.argv[1])
def get(v, name, **labels):
    return v[(name, tuple(sorted(labels.items())))]
for n in ["ntp_packets_received", "ntp_packets_dropped", "nts_ke_connections_accepted",
          "nts_ke_connections_dropped", "authenticated_ntp_packets", "ntp_daemon_rx_timestamps",
          "ntp_kernel_rx_timestamps", "ntp_hw_rx_timestamps"]:
    f = fams["chrony_serverstats_" + n]
    assert f.type == "counter" and f.documentation, (n, f.type)
assert fams["chrony_serverstats_ntp_timestamps_held"].type == "gauge"
assert get(v1, "chrony_serverstats_ntp_packets_received_total") == int(sys.argv[3])
assert get(v1, "tock_rx_packets_total", worker="0") + get(v1, "tock_rx_packets_total", worker="1") == int(sys.argv[3])
assert get(v1, "tock_ke_accepted_total") == 10
assert get(v1, "tock_ke_key_id") == 29 and get(v1, "tock_up") == 1 and get(v1, "tock_ke_up") == 1
if len(sys.argv) > 2 and sys.argv[2] != "-":
    _, v2 = load(sys.argv[2])
    assert get(v2, "chrony_serverstats_ntp_packets_received_total") == int(sys.argv[3]) + 5
    assert get(v2, "tock_rx_packets_total", worker="0") == get(v1, "tock_rx_packets_total", worker="0") + 5
    assert get(v2, "tock_rx_packets_total", worker="1") == get(v1, "tock_rx_packets_total", worker="1")
print("families:", len(fams))
EOF
check "metrics: prometheus_client parses it; names, types and values" \
	$PY "$TMP/prom.py" "$TMP/m1.txt" - "$rx"
fake bump "$RUN"
"$CTL" -r "$RUN" metrics >"$TMP/m2.txt"
check "metrics: a live update (worker 0 rx +5) moves the counters" \
	$PY "$TMP/prom.py" "$TMP/m1.txt" "$TMP/m2.txt" "$rx"

# --- tock-ke absent: NTP counters still served, KE ones zero, warning on stderr ---------
mv "$RUN/tock-ke.stats" "$TMP/ke.saved"
out=$("$CTL" -r "$RUN" serverstats 2>"$TMP/err")
check "no tock-ke: still exit 0" [ $? -eq 0 ]
check "no tock-ke: warns" grep -qF "tock-ke is not running" "$TMP/err"
check "no tock-ke: KE counters 0" grep -qx "NTS-KE connections accepted: 0" <<<"$out"
mv "$TMP/ke.saved" "$RUN/tock-ke.stats"

# --- stale file (writer gone) -------------------------------------------------------------
sleep 0 &
dead=$!
wait $dead
fake write "$RUN" $dead 1 1
out=$("$CTL" -r "$RUN" serverstats 2>&1)
check "stale file: exit 1" [ $? -eq 1 ]
check "stale file: says stale and names the pid" grep -qF "stale: tockd (pid $dead) is not running" <<<"$out"

# --- permission denied --------------------------------------------------------------------
fake write "$RUN" $$ 1 1
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	chmod 0755 "$TMP" "$RUN"
	chmod 0600 "$RUN/tockd.stats"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -r "$RUN" serverstats 2>&1)
	check "unreadable file: exit 1" [ $? -eq 1 ]
	check "unreadable file: says permission denied" grep -qF "permission denied" <<<"$out"
	chmod 0700 "$TMP"
fi

# --- not a counter file -------------------------------------------------------------------
head -c 4096 /dev/urandom >"$RUN/tockd.stats"
out=$("$CTL" -r "$RUN" metrics 2>&1)
check "foreign file: exit 1 and says so" \
	bash -c '[ "$1" -ne 0 ] && grep -qF "not a tock counter file" <<<"$2"' _ $? "$out"
truncate -s 100 "$RUN/tockd.stats"
"$CTL" -r "$RUN" serverstats >/dev/null 2>&1
check "truncated file: refused" [ $? -eq 1 ]

# --- XDP counters and top talkers, from maps pinned as tockd pins them -------------------
# A small program built here against libtock.a loads the XDP program with a rate limit,
# pins its maps like tockd (xdp_loader_pin_maps), runs hand-made frames through it with
# BPF_PROG_TEST_RUN, and waits; tockctl then reads the pins (TOCK_BPF_DIR).
xdp_part() {
	local pin=$TMP/bpffs/tock lib=$B/lib/libtock.a pid i
	# a private bpffs, so the test never touches the host's /sys/fs/bpf
	mkdir -p "$TMP/bpffs"
	mount -t bpf bpf "$TMP/bpffs" || { echo "     cannot mount a bpffs"; return 1; }
	cat >"$TMP/pin.c" <<-'EOF'
	#include <arpa/inet.h>
	#include <bpf/bpf.h>
	#include <stdio.h>
	#include <string.h>
	#include <unistd.h>
	#include "conf.h"
	#include "log.h"
	#include "xdp_loader.h"
	/* Ethernet + IPv4 + UDP to port 123 + a 48-byte NTP header with the given mode. */
	static int run(int prog, unsigned char src_last, int mode)
	{
		unsigned char f[14 + 20 + 8 + 48] = {0};
		f[12] = 0x08;
		f[14] = 0x45; f[16] = 0; f[17] = 20 + 8 + 48; f[22] = 64; f[23] = 17;
		f[26] = 198; f[27] = 18; f[28] = 0; f[29] = src_last;
		f[30] = 198; f[31] = 18; f[32] = 0; f[33] = 1;
		f[34] = 0x30; f[35] = 0x39; f[36] = 0; f[37] = 123; f[39] = 8 + 48;
		f[42] = (4 << 3) | mode;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = sizeof(f));
		return bpf_prog_test_run_opts(prog, &o);
	}
	int main(int argc, char **argv)
	{
		struct tock_conf c;
		struct xdp_loader *xl;
		log_init("pin", 1, LOG_WARNING);
		conf_defaults(&c);
		c.ratelimit.enabled = 1; c.ratelimit.rate = 1; c.ratelimit.burst = 2;
		c.ratelimit.leak_every = 0; /* no random leak: the counts below are exact */
		if (xdp_loader_open(&xl, &c, NULL) || xdp_loader_pin_maps(xl, argv[1]))
			return 1;
		for (int i = 0; i < 5; i++) run(xdp_loader_prog_fd(xl), 5, 3);  /* 5 from .5  */
		for (int i = 0; i < 3; i++) run(xdp_loader_prog_fd(xl), 6, 6);  /* 3 mode 6   */
		for (int i = 0; i < 2; i++) run(xdp_loader_prog_fd(xl), 7, 3);  /* 2 from .7  */
		printf("ready\n"); fflush(stdout);
		while (getchar() != EOF) ;  /* until the test closes stdin */
		xdp_loader_destroy(xl);
		return 0;
	}
	EOF
	${CC:-cc} -std=gnu11 -D_GNU_SOURCE -Iuserspace/lib -Ikmod-free -Ibpf -I"$B/bpf" -o "$TMP/pin" \
		"$TMP/pin.c" "$lib" -lbpf -lelf -lz -luring -lssl -lcrypto -lpthread 2>"$TMP/cc.log" ||
		{ head "$TMP/cc.log"; return 1; }
	mkdir -p "$pin"
	mkfifo "$TMP/pin.in"
	"$TMP/pin" "$pin" <"$TMP/pin.in" >"$TMP/pin.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	exec 7>"$TMP/pin.in"
	for i in $(seq 50); do grep -q ready "$TMP/pin.out" && break; sleep 0.1; done
	fake write "$RUN" $$ 1 1
	TOCK_BPF_DIR=$pin "$CTL" -r "$RUN" clients >"$TMP/clients.txt" 2>&1
	TOCK_BPF_DIR=$pin "$CTL" -r "$RUN" serverstats >"$TMP/xs.txt" 2>&1
	TOCK_BPF_DIR=$pin "$CTL" -r "$RUN" metrics >"$TMP/xm.txt" 2>&1
	exec 7>&-
	wait "$pid"
	rmdir "$pin" 2>/dev/null
	umount "$TMP/bpffs"
	sed 's/^/     /' "$TMP/clients.txt"
	# .5 sent 5 with burst 2 and 1/s: 5 requests, 3 over the limit; .7: 2, none over
	grep -qE '^198\.18\.0\.5/32 +5 +3 ' "$TMP/clients.txt" &&
		grep -qE '^198\.18\.0\.7/32 +2 +0 ' "$TMP/clients.txt" &&
		[ "$(sed -n 2p "$TMP/clients.txt" | cut -d' ' -f1)" = 198.18.0.5/32 ] ||
		{ echo "     unexpected top talkers"; return 1; }
	grep -qE '^xdp_drop_mode_control +: 3$' "$TMP/xs.txt" ||
		{ echo "     serverstats lacks xdp_drop_mode_control 3"; grep xdp_ "$TMP/xs.txt"; return 1; }
	# chrony's view: the 3 mode-6 frames and the rate-limited ones count as received + dropped
	$PY - "$TMP/xm.txt" <<-'EOF'
	import sys
	from prometheus_client.parser import text_string_to_metric_families as parse
	v = {s.name: s.value for f in parse(open(sys.argv[1]).read()) for s in f.samples}
	assert v["tock_xdp_drop_mode_control_total"] == 3, v
	limited = v["tock_xdp_ratelimited_dropped_total"] + v["tock_xdp_kod_sent_total"]
	assert limited == 3, v
	drops = sum(x for k, x in v.items() if k.startswith("tock_drop_"))
	assert v["chrony_serverstats_ntp_packets_received_total"] == v["tock_rx_packets_total"] + 3 + limited, v
	assert v["chrony_serverstats_ntp_packets_dropped_total"] == drops + 3 + limited, v
	EOF
}
if [ "$(id -u)" = 0 ] && [ -f "$B/lib/libtock.a" ] && [ -f "$B/bpf/tock.skel.h" ]; then
	check "XDP: clients lists top talkers, serverstats/metrics add the XDP counters" xdp_part
else
	echo "note: XDP part not run (needs root, $B/lib/libtock.a and $B/bpf/tock.skel.h)"
fi

# --- live tockd (when it has been built) --------------------------------------------------
live_tockd() {
	local conf=$TMP/tock.conf lrun=$TMP/live i
	mkdir -p "$lrun" "$TMP/state"
	cat >"$conf" <<-EOF
	listen 127.0.0.1 123
	rundir $lrun
	statedir $TMP/state
	user root
	workers 2
	clock follow kernel
	metrics 127.0.0.1:9123
	EOF
	"$B/bin/tockd" -n -f "$conf" || { echo "     tockd -n rejected the config"; return 1; }
	ip netns add "$NS" || return 1
	ip -n "$NS" link set lo up
	ip netns exec "$NS" "$B/bin/tockd" -d -f "$conf" >"$TMP/tockd.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 50); do [ -f "$lrun/tockd.stats" ] && break; sleep 0.1; done
	"$CTL" -r "$lrun" metrics >"$TMP/l1.txt" || return 1
	for i in 1 2 3; do ip netns exec "$NS" timeout 5 ntpdig -t 1 127.0.0.1 >/dev/null 2>&1; done
	sleep 0.5
	"$CTL" -r "$lrun" metrics >"$TMP/l2.txt" || return 1
	$PY - "$TMP/l1.txt" "$TMP/l2.txt" <<-'EOF'
	import sys
	from prometheus_client.parser import text_string_to_metric_families as parse
	def rx(p):
	    for f in parse(open(p).read()):
	        for s in f.samples:
	            if s.name == "chrony_serverstats_ntp_packets_received_total":
	                return s.value
	a, b = rx(sys.argv[1]), rx(sys.argv[2])
	print("     live tockd: received %d -> %d" % (a, b))
	assert b >= a + 3
	EOF
}
# chronyc against tockd's control socket must agree with tockctl on chrony's fields.
live_chronyc() {
	local lrun=$TMP/live a b
	[ -S "$lrun/tockd.sock" ] || { echo "     no control socket $lrun/tockd.sock"; return 1; }
	# the control socket counts the command packets it answers; the shared file does not
	a=$(chronyc -h "$lrun/tockd.sock" serverstats 2>&1 | head -n 11 | grep -v '^Command')
	b=$("$CTL" -r "$lrun" serverstats 2>/dev/null | head -n 11 | grep -v '^Command')
	[ "$a" = "$b" ] && return 0
	diff <(echo "$a") <(echo "$b") | sed 's/^/     | /'
	return 1
}
# tockd's HTTP listener (metrics directive) serves the same text as tockctl metrics.
live_http() {
	ip netns exec "$NS" $PY - <<-'EOF'
	import urllib.request
	from prometheus_client.parser import text_string_to_metric_families as parse
	r = urllib.request.urlopen("http://127.0.0.1:9123/metrics", timeout=5)
	assert r.headers.get_content_type() == "text/plain", r.headers
	names = {f.name for f in parse(r.read().decode())}
	assert "chrony_serverstats_ntp_packets_received" in names, names
	print("     http: %d families" % len(names))
	EOF
}
if [ -x "$B/bin/tockd" ] && command -v ntpdig >/dev/null; then
	check "live tockd: metrics parse and 'NTP packets received' grows with ntpdig" live_tockd ||
		tail -n 20 "$TMP/tockd.log" 2>/dev/null | sed 's/^/     | /'
	if command -v chronyc >/dev/null; then
		check "live tockd: chronyc -h RUNDIR/tockd.sock serverstats = tockctl serverstats" \
			live_chronyc
	fi
	if ip netns exec "$NS" ss -Hltn 'sport = :9123' 2>/dev/null | grep -q .; then
		check "live tockd: HTTP metrics listener serves the Prometheus text" live_http
	else
		echo "note: tockd does not listen on its 'metrics 127.0.0.1:9123' yet: not tested"
	fi
else
	echo "note: $B/bin/tockd not built: live part not run"
fi

ops_done ops_metrics
