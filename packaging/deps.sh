#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages that building and testing tock need, only when one is
# missing (so `make test` on a prepared machine does not touch apt at all).
set -euo pipefail

PKGS=(
	build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
	liburing-dev libssl-dev openssl libnl-3-dev libnl-route-3-dev libnl-genl-3-dev
	libgnutls28-dev libclang-rt-14-dev cppcheck clang-format
	chrony ntpsec-ntpdig iproute2 ethtool procps tshark python3 python3-prometheus-client
	systemd dpkg-dev debhelper fakeroot lintian
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is what we want.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
