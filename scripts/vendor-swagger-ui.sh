#!/usr/bin/env bash
# vendor-swagger-ui.sh VERSION copies the browser files of npm's
# swagger-ui-dist at VERSION into web/static/vendor/swagger-ui, the renderer
# of the API reference page (/api/docs). The files are checked in, so the
# binary and its tests need neither npm nor a network; run this only to move
# to another release, then look at /api/docs and commit.
#
# One change is made: the stylesheet's data: images (icons) become files in
# icons/, since a Content-Security-Policy of 'self' refuses data: URLs.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/vendor-swagger-ui.sh VERSION (e.g. 5.35.0)}
dest=web/static/vendor/swagger-ui
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --ignore-scripts --loglevel=error "swagger-ui-dist@$version" >&2
src=$tmp/node_modules/swagger-ui-dist
rm -rf "$dest"
mkdir -p "$dest"
cp "$src"/{swagger-ui-bundle.js,swagger-ui-bundle.js.LICENSE.txt,swagger-ui.css,LICENSE,NOTICE} "$dest"/
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

cat >"$dest/VERSION" <<NOTE
swagger-ui-dist $version (npm), Apache-2.0: see LICENSE and NOTICE beside
this file; swagger-ui-bundle.js.LICENSE.txt lists the licences of the
libraries bundled into it. Copied by scripts/vendor-swagger-ui.sh, unchanged
except that swagger-ui.css loads its images from icons/ instead of data:
URLs, which a Content-Security-Policy of 'self' refuses.
Used by /api/docs (web/static/api-docs.html, web/static/js/api-docs.js).
NOTE
echo "vendored swagger-ui-dist $version into $dest" >&2
