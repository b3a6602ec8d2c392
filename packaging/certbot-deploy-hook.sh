#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# certbot deploy hook for tock-ke: installs a renewed certificate where tock.conf's
# ntsservercert/ntsserverkey point, readable by the tock user, then reloads tock-ke, which
# re-reads them on SIGHUP without dropping sessions.
#
# Install:  ln -s /usr/lib/tock/certbot-deploy-hook.sh /etc/letsencrypt/renewal-hooks/deploy/tock
#   or run: certbot renew --deploy-hook /usr/lib/tock/certbot-deploy-hook.sh
# certbot sets RENEWED_LINEAGE (e.g. /etc/letsencrypt/live/time.example.net) and
# RENEWED_DOMAINS. Optional settings, in the environment or /etc/default/tock-certbot:
#   TOCK_DOMAINS  only act for lineages whose domains include one of these (default: any)
#   TOCK_TLS_DIR  where the files go (default /etc/tock/tls)
#   TOCK_GROUP    group that may read the key (default tock)
#   TOCK_RELOAD   command run afterwards (default: systemctl reload tock-ke.service, if active)
set -euo pipefail

[ -r /etc/default/tock-certbot ] && . /etc/default/tock-certbot
TLS_DIR=${TOCK_TLS_DIR:-/etc/tock/tls}
GROUP=${TOCK_GROUP:-tock}
lineage=${RENEWED_LINEAGE:?RENEWED_LINEAGE is not set: run me from certbot (--deploy-hook)}

if [ -n "${TOCK_DOMAINS:-}" ]; then
	match=
	for want in $TOCK_DOMAINS; do
		for got in ${RENEWED_DOMAINS:-}; do [ "$want" = "$got" ] && match=1; done
	done
	[ -n "$match" ] || exit 0
fi

for f in fullchain.pem privkey.pem; do
	[ -r "$lineage/$f" ] || { echo "tock hook: $lineage/$f missing" >&2; exit 1; }
done
getent group "$GROUP" >/dev/null || { echo "tock hook: no group $GROUP" >&2; exit 1; }
install -d -m 0750 -o root -g "$GROUP" "$TLS_DIR"

# Copy to temporary names, then rename: no reader ever sees a half-written file, and
# tock-ke only reads the pair on the reload below, once both are in place.
tmp_cert=$(mktemp "$TLS_DIR/.fullchain.XXXXXX")
tmp_key=$(mktemp "$TLS_DIR/.privkey.XXXXXX")
trap 'rm -f "$tmp_cert" "$tmp_key"' EXIT
install -m 0644 -o root -g "$GROUP" "$lineage/fullchain.pem" "$tmp_cert"
install -m 0640 -o root -g "$GROUP" "$lineage/privkey.pem" "$tmp_key"
mv -f "$tmp_key" "$TLS_DIR/privkey.pem"
mv -f "$tmp_cert" "$TLS_DIR/fullchain.pem"
echo "tock hook: installed $lineage into $TLS_DIR"

if [ -n "${TOCK_RELOAD:-}" ]; then
	sh -c "$TOCK_RELOAD"
elif command -v systemctl >/dev/null && systemctl is-active --quiet tock-ke.service; then
	systemctl reload tock-ke.service
fi
