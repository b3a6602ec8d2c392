#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cookie keys changing under a polling NTS client.
#  1. tock-ke rotates every 2 s (ntsrotate 2) while a client keeps querying tockd: a cookie from
#     the first NTS-KE session is answered (no NAK) while its key is current, previous or
#     oldest, and NAKed once its key has left the ring (3 rotations); a chain of fresh cookies
#     never fails, and each new cookie is under the key that is current.
#  2. Fleet keys: tock-ke (client namespace, own run directory) and tockd (server namespace,
#     no key map) share only `ntskeyseed`; chronyd gets its cookies from that tock-ke and its
#     time, authenticated, from tockd, and a cookie chain survives a key epoch change.
source "$(dirname "$0")/tockd_lib.bash"
NS_S=tock-int-rot-s$$
NS_C=tock-int-rot-c$$
Q=$PWD/$B/tests/helpers/nts_query
for f in "$KE" "$Q"; do [ -x "$f" ] || skip "$f not built (make $f)"; done
for c in chronyd openssl; do command -v $c >/dev/null || skip "$c missing"; done
# query COOKIE [KEYMAP]: one NTS request to tockd; prints nts_query's line
query() { cli "$Q" query $SRV4 123 "$AEAD" "$C2S" "$S2C" "$@"; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

td_setup rs rc
chmod 755 "$TMP"

echo "== 1. rotation every 2 s while polling"
td_make_certs $SRV4
CONF=$(td_nts_conf "ntsrotate 2")
td_conf "$CONF"
td_ke_start
td_start "$CONF"
read -r AEAD C2S S2C OLD CHAIN _ < <(cli "$Q" fetch $SRV4 4460 "$TMP/ca.pem" $SRV4) ||
	fail "NTS-KE"
[ -n "$CHAIN" ] || fail "NTS-KE gave fewer than two cookies"
declare -A seen=()
for i in $(seq 60); do # 0.25 s apart: about 15 s, 7 rotations
	line=$(query "$OLD" "$TMP/run/keys")
	rc=$?
	b=$(field before "$line") a=$(field after "$line") r=$(field result "$line")
	if [ "$b" = "$a" ]; then # no rotation during the exchange: the verdict must fit the key's place
		seen[$b-$r]=1
		case "$b-$r" in
		current-ok | previous-ok | oldest-ok | unknown-nak) ;;
		*) fail "old cookie: key $b, result $r (rc $rc): $line" ;;
		esac
	fi
	line=$(query "$CHAIN" "$TMP/run/keys") || fail "cookie chain broke: $line"
	b=$(field before "$line") a=$(field after "$line") new=$(field new "$line")
	[ "$b" = "$a" ] && ! [[ $new =~ ^(current,)*current$ ]] &&
		fail "new cookies not under the current key: $line"
	CHAIN=$(field cookie "$line")
	[ -n "${seen[unknown-nak]:-}" ] && [ $i -ge 40 ] && break
	sleep 0.25
done
echo "  seen (key place-result): ${!seen[*]}"
for k in current-ok previous-ok oldest-ok unknown-nak; do
	[ -n "${seen[$k]:-}" ] || fail "never saw $k"
done
naks=$(td_stats | awk '{s += $8} END {print s}') # nak_unknown_key (stats.h order)
echo "ok: old cookie answered while its key was in the ring, NAKed after (NAKs: $naks);" \
	"the chain never failed ($i rounds)"
td_stop
td_ke_stop

echo "== 2. fleet keys: tockd without tock-ke"
rm -rf "$TMP/run" "$TMP/state" "$TMP/ca.pem"
td_make_certs 198.18.0.2
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/seed"
chmod 600 "$TMP/seed"
mkdir -p "$TMP/kerun" "$TMP/kestate"
cat >"$TMP/ke.conf" <<-EOF2
	rundir $TMP/kerun
	statedir $TMP/kestate
	ntslisten 198.18.0.2 4460
	ntsservercert $TMP/srv.pem
	ntsserverkey $TMP/srv.key
	ntsntpserver $SRV4
	ntsthreads 1
	ntsrotate 4
	ntskeyseed $TMP/seed
EOF2
td_ke_start "$NS_C" "$TMP/ke.conf"
td_start "workers 2
stratum 1
refid GPS
ntsrotate 4
ntskeyseed $TMP/seed"
grep -q "fleet keys from $TMP/seed" "$TMP/tockd.log" || fail "tockd did not derive fleet keys"
[ -e "$TMP/run/keys" ] && fail "a key map in tockd's run directory"
td_chronyd_q 198.18.0.2 # NTS-KE there, NTP (ntsntpserver) at tockd
nts=$(td_stats | awk '{s += $4} END {print s}') # nts_answered
[ "$nts" -ge 1 ] || fail "tockd counted no NTS answer"
echo "ok: chronyd: cookies from tock-ke, authenticated time from tockd ($nts NTS answers)"
read -r AEAD C2S S2C CHAIN _ < <(cli "$Q" fetch 198.18.0.2 4460 "$TMP/ca.pem" 198.18.0.2) ||
	fail "NTS-KE (fleet)"
for i in $(seq 24); do # 6 s: at least one epoch change (ntsrotate 4)
	line=$(query "$CHAIN") || fail "fleet cookie chain broke at round $i: $line"
	CHAIN=$(field cookie "$line")
	sleep 0.25
done
grep -q "fleet keys: current key id" "$TMP/tockd.log" || fail "tockd never re-derived the keys"
echo "ok: cookie chain across a fleet key epoch change, no NAK"
td_stop
td_ke_stop
echo "PASS"
