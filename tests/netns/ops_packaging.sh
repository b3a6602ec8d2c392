#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packaging: the systemd units pass `systemd-analyze verify` (no output at all), install.sh
# lays out a scratch root, the shipped tock.conf and every example in it parse, the .deb
# builds (lintian: no errors) and its files are where the units, sysusers and tmpfiles
# entries expect them, and — the part systemd cannot check offline — each daemon starts
# (twice: the restart case) as root confined to its unit's CapabilityBoundingSet, with its
# directories owned by the service user as systemd leaves them, and reports READY=1.
set -u
cd "$(dirname "$0")/../.."
ROOT_DIR=$PWD
B=${B:-build}
NS=tock-ops-pkg
TMP=$(mktemp -d /tmp/tock-ops-pkg.XXXXXX)
source tests/netns/ops_common.inc

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing (apt-get install systemd)"; exit 77; }

# Binaries: the real ones when built, else stand-ins (the unit checks need only a path).
BIN=$B/bin
have_bins=1
for p in tockd tock-ke tockctl; do [ -x "$B/bin/$p" ] || have_bins=0; done
if [ $have_bins = 0 ]; then
	echo "note: $B/bin is incomplete: installing stand-in binaries for the layout checks"
	BIN=$TMP/fake/bin
	mkdir -p "$BIN"
	for p in tockd tock-ke tockctl; do cp /bin/true "$BIN/$p"; done
fi

# --- install.sh into a scratch root ----------------------------------------------------
SR=$TMP/root
B=${BIN%/bin} bash packaging/install.sh "$SR" /usr >"$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log"; bad "install.sh into a scratch root"; }
for f in usr/sbin/tockd usr/sbin/tock-ke usr/bin/tockctl etc/tock/tock.conf \
	lib/systemd/system/tockd.service lib/systemd/system/tock-ke.service \
	usr/lib/sysusers.d/tock.conf usr/lib/tmpfiles.d/tock.conf usr/lib/tock/certbot-deploy-hook.sh \
	usr/share/man/man8/tockd.8 usr/share/man/man8/tock-ke.8 usr/share/man/man8/tockctl.8 \
	usr/share/man/man5/tock.conf.5; do
	[ -e "$SR/$f" ] || bad "install.sh: $f missing"
done
ok "install.sh: binaries, units, config, sysusers, tmpfiles, hook and man pages in place"
B=${BIN%/bin} bash packaging/install.sh "$SR" /usr >/dev/null 2>&1
check "install.sh: a second install keeps the existing tock.conf" \
	[ -e "$SR/etc/tock/tock.conf.dist" ]
B=${BIN%/bin} bash packaging/install.sh "$TMP/local" /usr/local >/dev/null 2>&1
check "install.sh PREFIX=/usr/local: units point at /usr/local/sbin" \
	grep -q '^ExecStart=!/usr/local/sbin/tockd ' "$TMP/local/usr/local/lib/systemd/system/tockd.service"

# --- systemd-analyze verify -------------------------------------------------------------
# Offline, verify needs the ExecStart binaries and the man pages of Documentation= to
# exist: point the units at the scratch root and MANPATH at its man pages. Any output
# (a parse warning, an unknown setting) counts as a failure: verify exits 0 on those.
verify() { # unit files...
	local out
	out=$(MANPATH=$SR/usr/share/man systemd-analyze verify "$@" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] && return 0
	echo "$out" | sed 's/^/     | /'
	return 1
}
mkdir -p "$TMP/units"
for u in tockd tock-ke; do
	sed "s#/usr/sbin/#$SR/usr/sbin/#g" "$SR/lib/systemd/system/$u.service" >"$TMP/units/$u.service"
done
check "systemd-analyze verify tockd.service tock-ke.service: clean" \
	verify "$TMP/units/tockd.service" "$TMP/units/tock-ke.service"
sed 's/^ProtectSystem=strict/ProtectSystem=strcit/' "$TMP/units/tockd.service" >"$TMP/units/broken.service"
check "systemd-analyze verify: a broken copy is caught (the check can fail)" \
	bash -c '! MANPATH=$1 systemd-analyze verify "$2" >/dev/null 2>&1 ||
		[ -n "$(MANPATH=$1 systemd-analyze verify "$2" 2>&1)" ]' _ "$SR/usr/share/man" \
	"$TMP/units/broken.service"
for u in tockd tock-ke; do
	f=packaging/systemd/$u.service
	for k in Type=notify ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
		RuntimeDirectory=tock RuntimeDirectoryPreserve=yes StateDirectory=tock \
		Restart=on-failure 'ExecReload=/bin/kill -HUP $MAINPID' User=tock; do
		grep -qxF "$k" "$f" || bad "$u.service: no '$k'"
	done
done
ok "units: sandboxing, notify, runtime/state directories and reload as specified"
check "tockd.service: AF_NETLINK allowed, tock-ke.service: not" \
	bash -c 'grep -q "^RestrictAddressFamilies=.*AF_NETLINK" packaging/systemd/tockd.service &&
		! grep -q "^RestrictAddressFamilies=.*AF_NETLINK" packaging/systemd/tock-ke.service'
check "tock-ke.service: no BPF or NET_ADMIN capability (TLS never shares them)" \
	bash -c '! grep "^CapabilityBoundingSet=" packaging/systemd/tock-ke.service |
		grep -qE "CAP_(BPF|NET_ADMIN|PERFMON|SYS_ADMIN)"'

# --- the default config and every example in it parse ----------------------------------
if [ $have_bins = 1 ]; then
	mkdir -p "$TMP/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=tock-ops.test -keyout "$TMP/tls/privkey.pem" -out "$TMP/tls/fullchain.pem" \
		>/dev/null 2>&1
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/fleet.seed"
	chmod 0600 "$TMP/fleet.seed"
	sed "s#/etc/tock/tls/#$TMP/tls/#" packaging/tock.conf >"$TMP/default.conf"
	check "tock.conf as shipped: tockd -n accepts it" "$BIN/tockd" -n -f "$TMP/default.conf"
	check "tock.conf as shipped: tock-ke -n accepts it" "$BIN/tock-ke" -n -f "$TMP/default.conf"
	# Every '#directive' example line, uncommented (include aside: it names no real file).
	sed -E -e 's/^#([a-z])/\1/' -e '/^include /d' -e "s#/etc/tock/fleet.seed#$TMP/fleet.seed#" \
		"$TMP/default.conf" >"$TMP/examples.conf"
	n=$(grep -cE '^#[a-z]' packaging/tock.conf)
	check "tock.conf: all $n examples, uncommented, pass tockd -n" "$BIN/tockd" -n -f "$TMP/examples.conf"
	check "tock.conf: all $n examples, uncommented, pass tock-ke -n" "$BIN/tock-ke" -n -f "$TMP/examples.conf"
	directives=(listen ntslisten ntsservercert ntsserverkey ntsntpserver ntsntpport ntsrotate
		ntskeyseed ntsaeads statedir rundir user workers clock stratum refid xdp ratelimit
		allow deny hwtimestamp controlsocket metrics maxntsconnections ntstimeout ntsratelimit)
	missing=()
	for d in "${directives[@]}"; do grep -qE "^#?$d " packaging/tock.conf || missing+=("$d"); done
	check "tock.conf documents every directive of DESIGN §12 ${missing[*]:+(missing: ${missing[*]})}" \
		[ ${#missing[@]} -eq 0 ]
fi

# --- man pages render without warnings ---------------------------------------------------
good=1
for m in packaging/man/*.[58]; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || { good=0; echo "     $m: $w"; }
done
check "man pages: groff reports no warnings" [ $good = 1 ]

# --- the certbot deploy hook -------------------------------------------------------------
mkdir -p "$TMP/live/tock-ops.test"
printf 'CERT\n' >"$TMP/live/tock-ops.test/fullchain.pem"
printf 'KEY\n' >"$TMP/live/tock-ops.test/privkey.pem"
RENEWED_LINEAGE=$TMP/live/tock-ops.test RENEWED_DOMAINS=tock-ops.test TOCK_TLS_DIR=$TMP/hooktls \
	TOCK_GROUP=nogroup TOCK_RELOAD="touch $TMP/reloaded" \
	bash packaging/certbot-deploy-hook.sh >/dev/null
check "certbot hook: copies the pair with modes 0644/0640, group readable, and reloads" \
	bash -c '[ "$(stat -c %a:%G "$1/fullchain.pem")" = 644:nogroup ] &&
		[ "$(stat -c %a:%G "$1/privkey.pem")" = 640:nogroup ] &&
		[ "$(cat "$1/privkey.pem")" = KEY ] && [ -e "$2/reloaded" ] &&
		[ -z "$(ls -A "$1" | grep "^\.")" ]' _ "$TMP/hooktls" "$TMP"
rm -f "$TMP/reloaded"
RENEWED_LINEAGE=$TMP/live/tock-ops.test RENEWED_DOMAINS=other.test TOCK_DOMAINS=tock-ops.test \
	TOCK_TLS_DIR=$TMP/hooktls2 TOCK_GROUP=nogroup TOCK_RELOAD="touch $TMP/reloaded" \
	bash packaging/certbot-deploy-hook.sh >/dev/null
check "certbot hook: ignores lineages outside TOCK_DOMAINS" \
	bash -c '[ ! -e "$1/hooktls2" ] && [ ! -e "$1/reloaded" ]' _ "$TMP"

# --- the daemons under their units' capability bounding sets ----------------------------
# What systemd does and this host (no systemd as PID 1) cannot: start as root with only the
# unit's capabilities, RuntimeDirectory/StateDirectory owned by User= (here: nobody), with
# $NOTIFY_SOCKET set; then stop and start again, when every file is the user's.
caps_of() { # unit → setpriv --bounding-set argument
	grep '^CapabilityBoundingSet=' "packaging/systemd/$1.service" | cut -d= -f2 | tr ' ' '\n' |
		sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd, | sed 's/^/-all,/'
}
notify_listen() { # socket path → prints the first datagram (waits up to 10 s)
	$PY - "$1" <<-'EOF' &
	import os, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1]); s.settimeout(10)
	os.chmod(sys.argv[1], 0o777)  # as systemd's: the daemon may send after its drop
	try:
	    print(s.recv(4096).decode(errors="replace"), flush=True)
	except socket.timeout:
	    print("TIMEOUT", flush=True)
	EOF
}
run_confined() { # unit, conf, readiness file, round
	local unit=$1 conf=$2 ready=$3 round=$4 sock=$TMP/notify-$1-$4 i pid lpid
	notify_listen "$sock" >"$TMP/notify-$unit-$round.out"
	lpid=$!
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$sock ip netns exec "$NS" setpriv --bounding-set "$(caps_of "$unit")" \
		--inh-caps=-all --no-new-privs "$BIN/$unit" -d -f "$conf" >"$TMP/$unit-$round.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait "$lpid"
	for i in $(seq 50); do [ -e "$ready" ] && break; sleep 0.1; done
	if ! kill -0 "$pid" 2>/dev/null || [ ! -e "$ready" ]; then
		tail -n 15 "$TMP/$unit-$round.log" | sed 's/^/     | /'
		return 1
	fi
	grep -qx 'READY=1' "$TMP/notify-$unit-$round.out" ||
		{ echo "     no READY=1 on NOTIFY_SOCKET: $(cat "$TMP/notify-$unit-$round.out")"; return 1; }
	# the process itself must hold no capability any more
	grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid/status" ||
		{ echo "     still holds $(grep CapEff "/proc/$pid/status")"; return 1; }
	kill "$pid"
	wait "$pid" 2>/dev/null
	return 0
}
keys_check() { # rundir
	local out v
	out=$("$BIN/tockctl" -r "$1" keys) || return 1
	echo "$out" | sed 's/^/     /'
	[ "$(grep -cE '^[0-3] +[0-9]+ +0x[0-9a-f]{8} +1[57] ' <<<"$out")" = 4 ] &&
		[ "$(grep -c ' current$' <<<"$out")" = 1 ] || { echo "     not 4 keys, 1 current"; return 1; }
	# a fresh ring: the current key became current seconds ago, the next one is ahead
	grep -qE ' 00:00:[0-9]{2} ago +current$' <<<"$out" && grep -qE ' in [0-9d ]*[0-9:]{8} +next$' <<<"$out" ||
		{ echo "     current key not current for seconds, or next key not ahead"; return 1; }
	for v in 0 1; do
		"$BIN/tockctl" -r "$1" keys --export "$TMP/ntskeys.$v" --nks $v >/dev/null || return 1
		[ "$(stat -c %a "$TMP/ntskeys.$v")" = 600 ] && [ "$(head -n 1 "$TMP/ntskeys.$v")" = NKS$v ] ||
			{ echo "     export NKS$v: bad mode or header"; return 1; }
	done
	# the listing never shows key material
	for k in $(awk 'NR > 2 { print $2 }' "$TMP/ntskeys.1"); do
		grep -qi "$k" <<<"$out" && { echo "     key bytes in the listing"; return 1; }
	done
	return 0
}
if [ $have_bins = 1 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	ip netns add "$NS" && ip -n "$NS" link set lo up
	sim=$TMP/sim
	mkdir -p "$sim/run" "$sim/state"
	chown nobody:nogroup "$sim/run" "$sim/state"
	chmod 0750 "$sim/run"
	chmod 0700 "$sim/state"
	chmod 0755 "$TMP" "$TMP/tls"
	chmod 0644 "$TMP/tls/privkey.pem"
	cat >"$sim/tock.conf" <<-EOF
	user nobody
	rundir $sim/run
	statedir $sim/state
	listen 127.0.0.1 123
	workers 1
	ntslisten 127.0.0.1 4460
	ntsservercert $TMP/tls/fullchain.pem
	ntsserverkey $TMP/tls/privkey.pem
	EOF
	for round in 1 2; do
		check "tock-ke (round $round): starts within its unit's capabilities, READY=1, drops them" \
			run_confined tock-ke "$sim/tock.conf" "$sim/run/tock-ke.stats" $round
		# its files are the service user's after the first run, as systemd leaves them
		chown -R nobody:nogroup "$sim/run" "$sim/state"
	done
	for round in 1 2; do
		# tockd needs the key map; keep a tock-ke running under its own bounding set
		ip netns exec "$NS" setpriv --bounding-set "$(caps_of tock-ke)" --inh-caps=-all \
			--no-new-privs "$BIN/tock-ke" -d -f "$sim/tock.conf" >"$TMP/ke-bg-$round.log" 2>&1 &
		kepid=$!
		PIDS+=("$kepid")
		sleep 1
		check "tockd (round $round): starts within its unit's capabilities, READY=1, drops them" \
			run_confined tockd "$sim/tock.conf" "$sim/run/tockd.stats" $round
		[ $round = 1 ] && check "tockctl keys: the live key map, and --export in chrony's formats" \
			keys_check "$sim/run"
		kill "$kepid"
		wait "$kepid" 2>/dev/null
		chown -R nobody:nogroup "$sim/run" "$sim/state"
	done
	chmod 0700 "$TMP"
else
	echo "note: daemons not built (or no setpriv): confined start-up not run"
fi

# --- the Debian package -------------------------------------------------------------------
missing=()
for t in dpkg-buildpackage dh fakeroot dpkg-deb lintian; do command -v $t >/dev/null || missing+=($t); done
if [ ${#missing[@]} -gt 0 ]; then
	echo "SKIP: deb part: missing ${missing[*]} (apt-get install dpkg-dev debhelper fakeroot lintian)"
	[ $fails -eq 0 ] && exit 77
elif [ $have_bins = 0 ]; then
	echo "note: the programs do not build yet: .deb not built"
else
	OUT=$TMP/deb bash packaging/build-deb.sh >"$TMP/deb.log" 2>&1
	rc=$?
	tail -n 3 "$TMP/deb.log" | sed 's/^/     /'
	check "make deb: dpkg-buildpackage -b and lintian (no errors)" [ $rc -eq 0 ]
	deb=$(ls "$TMP"/deb/tock_*.deb 2>/dev/null | head -n 1)
	if [ -n "$deb" ]; then
		X=$TMP/x
		dpkg-deb -x "$deb" "$X"
		good=1
		for u in tockd tock-ke; do
			unit=$X/lib/systemd/system/$u.service
			[ -f "$unit" ] || { good=0; echo "     no $u.service"; continue; }
			for exe in $(sed -n 's/^Exec[A-Za-z]*=[!+@-]*\([^ ]*\).*/\1/p' "$unit" | sort -u); do
				[ "$exe" = /bin/kill ] && continue
				[ -x "$X$exe" ] || { good=0; echo "     $u: $exe not in the package"; }
			done
			for m in $(sed -n 's/^Documentation=//p' "$unit"); do
				page=${m#man:}
				sec=${page##*(}
				sec=${sec%)}
				page=${page%(*}
				[ -e "$X/usr/share/man/man$sec/$page.$sec.gz" ] ||
					{ good=0; echo "     $u: $m not in the package"; }
			done
			conf=$(sed -n 's/^ExecStart=.* -f \([^ ]*\).*/\1/p' "$unit")
			[ -f "$X$conf" ] || { good=0; echo "     $u: $conf not in the package"; }
			user=$(sed -n 's/^User=//p' "$unit")
			grep -qE "^u $user " "$X/usr/lib/sysusers.d/tock.conf" ||
				{ good=0; echo "     $u: User=$user not created by sysusers.d"; }
		done
		check "deb: every Exec binary, man page, config file and User= of the units is in it" [ $good = 1 ]
		check "deb: tmpfiles.d creates /run/tock and /var/lib/tock for the tock user" \
			bash -c 'grep -qE "^d /run/tock +[0-7]+ tock tock" "$1" &&
				grep -qE "^d /var/lib/tock +0700 tock tock" "$1"' _ "$X/usr/lib/tmpfiles.d/tock.conf"
		check "deb: /etc/tock/tock.conf is a conffile" \
			bash -c 'dpkg-deb -e "$1" "$2/ctl" && grep -qx /etc/tock/tock.conf "$2/ctl/conffiles"' \
			_ "$deb" "$TMP"
		check "deb: postinst creates the user before the directories" \
			bash -c 'a=$(grep -n systemd-sysusers "$1" | cut -d: -f1 | head -1);
				b=$(grep -n systemd-tmpfiles "$1" | cut -d: -f1 | head -1);
				[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]' _ "$TMP/ctl/postinst"
		check "deb: the source tree stays clean (no debian/ at the top)" [ ! -e "$ROOT_DIR/debian" ]
	fi
fi

ops_done ops_packaging
