#!/usr/bin/env bash
# vendor.sh PACKAGE VERSION copies the browser files of an npm package at
# VERSION into web/static/vendor/, where the pages load them. The files are
# checked in, so the binary and its tests need neither npm nor a network;
# run this only to move to another release, then run the browser spec named
# below and commit.
#
#   swagger-ui-dist  the API reference (/api/docs)       web/test/apidocs.test.mjs
#   jsqr             the scan page's QR decoder where     web/test/door.test.mjs
#                    the browser has no BarcodeDetector
#   uplot            the admin dashboard's charts         web/test/admin.test.mjs
#
# One change is made, to swagger-ui-dist: the stylesheet's data: images
# (icons) become files in icons/, since a Content-Security-Policy of 'self'
# refuses data: URLs.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/vendor.sh swagger-ui-dist|jsqr|uplot VERSION"
pkg=${1:?$usage}
version=${2:?$usage}
case $pkg in
swagger-ui-dist)
	dir=swagger-ui
	files=(swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE)
	note="Apache-2.0: see LICENSE and NOTICE beside this file;
swagger-ui-bundle.js.LICENSE.txt lists the licences of the libraries bundled
into it. Unchanged except that swagger-ui.css loads its images from icons/
instead of data: URLs, which a Content-Security-Policy of 'self' refuses.
Used by /api/docs (web/static/api-docs.html, web/static/js/api-docs.js)." ;;
jsqr)
	dir=jsqr
	files=(dist/jsQR.js LICENSE)
	note="Apache-2.0: see LICENSE beside this file. Unchanged: jsQR.js is a UMD
bundle that, loaded as a module, defines self.jsQR.
Used by the scan page (web/static/js/app/qrcamera.js) where the browser has
no BarcodeDetector." ;;
uplot)
	dir=uplot
	files=(dist/uPlot.esm.js dist/uPlot.min.css LICENSE)
	note="MIT: see LICENSE beside this file. Unchanged: uPlot.esm.js (an ES
module) and its stylesheet uPlot.min.css.
Used by the admin dashboard (web/static/js/app/timechart.js)." ;;
*)
	echo "$usage" >&2
	exit 2 ;;
esac
dest=web/static/vendor/$dir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --ignore-scripts --loglevel=error "$pkg@$version" >&2
rm -rf "$dest"
mkdir -p "$dest"
for f in "${files[@]}"; do
	cp "$tmp/node_modules/$pkg/$f" "$dest"/
done
if [[ $pkg == swagger-ui-dist ]]; then
	# Each data: URL of swagger-ui.css becomes icons/<sha256 prefix>.<ext>.
	node --input-type=module - "$dest" <<'JS'
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const dest = process.argv[2];
const css = readFileSync(`${dest}/swagger-ui.css`, 'utf8');
mkdirSync(`${dest}/icons`, { recursive: true });
const out = css.replace(/url\(("?)data:image\/([a-z]+)(?:\+xml)?(;charset=utf-8)?(;base64)?,(.*?)\1\)/g,
  (_, _q, type, _cs, b64, data) => {
    const bytes = b64 ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data), 'utf8');
    const name = `${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.${type === 'jpeg' ? 'jpg' : type}`;
    writeFileSync(`${dest}/icons/${name}`, bytes);
    return `url(icons/${name})`;
  });
if (/data:/.test(out)) throw new Error('swagger-ui.css still has a data: URL');
writeFileSync(`${dest}/swagger-ui.css`, out);
JS
fi
printf '%s %s (npm), copied by scripts/vendor.sh. %s\n' "$pkg" "$version" "$note" >"$dest/VERSION"
echo "vendored $pkg $version into $dest" >&2
