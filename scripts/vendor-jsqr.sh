#!/usr/bin/env bash
# vendor-jsqr.sh VERSION copies npm's jsqr at VERSION into
# web/static/vendor/jsqr: the QR decoder of the scan page (/scan) for
# browsers without BarcodeDetector (iOS Safari, Firefox). The files are
# checked in, so the binary and its tests need neither npm nor a network;
# run this only to move to another release, then run web/test/door.test.mjs
# and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/vendor-jsqr.sh VERSION (e.g. 1.4.0)}
dest=web/static/vendor/jsqr
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --ignore-scripts --loglevel=error "jsqr@$version" >&2
src=$tmp/node_modules/jsqr
rm -rf "$dest"
mkdir -p "$dest"
cp "$src"/dist/jsQR.js "$src"/LICENSE "$dest"/
cat >"$dest/VERSION" <<NOTE
jsqr $version (npm), Apache-2.0: see LICENSE beside this file. Copied by
scripts/vendor-jsqr.sh, unchanged: dist/jsQR.js is a UMD bundle that, loaded
as a module, defines self.jsQR.
Used by the scan page (web/static/js/app/qrcamera.js) where the browser has
no BarcodeDetector.
NOTE
echo "vendored jsqr $version into $dest" >&2
