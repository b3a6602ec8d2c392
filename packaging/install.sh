#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs tock: `make install` runs `packaging/install.sh "$DESTDIR" "$PREFIX"`, and the
# Debian package's rules run it into debian/tock. Binaries come from $B (default build/).
#   PREFIX/sbin/{tockd,tock-ke}  PREFIX/bin/tockctl  PREFIX/share/man/man{5,8}/
#   PREFIX/lib/tock/certbot-deploy-hook.sh   /etc/tock/tock.conf (kept if present)
#   systemd units, sysusers.d and tmpfiles.d files (under /lib and /usr/lib for PREFIX=/usr,
#   else under PREFIX/lib), with the binaries' paths rewritten for another PREFIX.
# Override with UNITDIR=, SYSCONFDIR=, SYSUSERSDIR=, TMPFILESDIR= in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

DESTDIR=${1:-}
PREFIX=${2:-/usr}
B=${B:-build}
SYSCONFDIR=${SYSCONFDIR:-/etc}
if [ "$PREFIX" = /usr ]; then
	# Debian 12 keeps units in /lib/systemd/system (dh_installsystemd looks there).
	UNITDIR=${UNITDIR:-/lib/systemd/system}
	SYSUSERSDIR=${SYSUSERSDIR:-/usr/lib/sysusers.d}
	TMPFILESDIR=${TMPFILESDIR:-/usr/lib/tmpfiles.d}
else
	UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
	SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
	TMPFILESDIR=${TMPFILESDIR:-$PREFIX/lib/tmpfiles.d}
fi

for p in tockd tock-ke tockctl; do
	[ -x "$B/bin/$p" ] || { echo "install: $B/bin/$p is not built (run make first)" >&2; exit 1; }
done

d() { install -d -m 0755 "$DESTDIR$1"; }
d "$PREFIX/sbin"
d "$PREFIX/bin"
install -m 0755 "$B/bin/tockd" "$B/bin/tock-ke" "$DESTDIR$PREFIX/sbin/"
install -m 0755 "$B/bin/tockctl" "$DESTDIR$PREFIX/bin/"

d "$PREFIX/share/man/man5"
d "$PREFIX/share/man/man8"
install -m 0644 packaging/man/tock.conf.5 "$DESTDIR$PREFIX/share/man/man5/"
install -m 0644 packaging/man/tockd.8 packaging/man/tock-ke.8 packaging/man/tockctl.8 \
	"$DESTDIR$PREFIX/share/man/man8/"

d "$PREFIX/lib/tock"
install -m 0755 packaging/certbot-deploy-hook.sh "$DESTDIR$PREFIX/lib/tock/"

d "$UNITDIR"
for u in tockd tock-ke; do
	sed -e "s#/usr/sbin/#$PREFIX/sbin/#g" -e "s#/etc/tock/#$SYSCONFDIR/tock/#g" \
		"packaging/systemd/$u.service" >"$DESTDIR$UNITDIR/$u.service"
	chmod 0644 "$DESTDIR$UNITDIR/$u.service"
done
d "$SYSUSERSDIR"
install -m 0644 packaging/systemd/tock.sysusers "$DESTDIR$SYSUSERSDIR/tock.conf"
d "$TMPFILESDIR"
sed "s#/etc/tock/#$SYSCONFDIR/tock/#g" packaging/systemd/tock.tmpfiles \
	>"$DESTDIR$TMPFILESDIR/tock.conf"
chmod 0644 "$DESTDIR$TMPFILESDIR/tock.conf"

# The configuration is the operator's: never overwrite an edited one.
d "$SYSCONFDIR/tock"
if [ -e "$DESTDIR$SYSCONFDIR/tock/tock.conf" ]; then
	echo "install: keeping $DESTDIR$SYSCONFDIR/tock/tock.conf (new default: tock.conf.dist)"
	install -m 0644 packaging/tock.conf "$DESTDIR$SYSCONFDIR/tock/tock.conf.dist"
else
	install -m 0644 packaging/tock.conf "$DESTDIR$SYSCONFDIR/tock/tock.conf"
fi
echo "install: tock installed into ${DESTDIR:-/} (prefix $PREFIX)"
if [ -z "$DESTDIR" ]; then
	echo "install: next: systemd-sysusers; systemd-tmpfiles --create; systemctl daemon-reload"
fi
