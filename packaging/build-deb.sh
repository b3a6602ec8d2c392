#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make deb`: builds the Debian package from a copy of the tree (so the tree stays clean)
# with dpkg-buildpackage -b -us -uc, then checks it with lintian (errors fail the build).
#   OUT=build/deb   where the copy, the .deb and the logs go
#   LINTIAN=0       skip lintian
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-build/deb}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac

for tool in dpkg-buildpackage dh fakeroot; do
	command -v "$tool" >/dev/null || { echo "deb: $tool missing (apt-get install dpkg-dev debhelper fakeroot)" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
src=$OUT/tock-$version

rm -rf "$src"
mkdir -p "$src"
# Everything but build output and VCS data; debian/ lives in packaging/ in this tree.
tar -C "$ROOT" --exclude=./.git --exclude='./build' --exclude='./build-*' --exclude='*.o' \
	--exclude='*.skel.h' -cf - . | tar -C "$src" -xf -
cp -a packaging/debian "$src/debian"
rm -f "$OUT"/tock_*.deb "$OUT"/tock-dbgsym_*.deb "$OUT"/tock_*.buildinfo "$OUT"/tock_*.changes

echo "deb: building tock $version in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$OUT/build.log" 2>&1 || {
	tail -n 40 "$OUT/build.log" >&2
	echo "deb: dpkg-buildpackage failed (full log: $OUT/build.log)" >&2
	exit 1
}
deb=$(ls "$OUT"/tock_"$version"_*.deb)
echo "deb: built $deb"

if [ "${LINTIAN:-1}" != 0 ] && command -v lintian >/dev/null; then
	# Errors fail; warnings and info are printed for the record.
	if ! lintian --fail-on error "$deb" | tee "$OUT/lintian.log"; then
		echo "deb: lintian reports errors (see $OUT/lintian.log)" >&2
		exit 1
	fi
	echo "deb: lintian: $(grep -c '^E:' "$OUT/lintian.log" || true) errors," \
		"$(grep -c '^W:' "$OUT/lintian.log" || true) warnings"
fi
