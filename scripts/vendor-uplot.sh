#!/usr/bin/env bash
# vendor-uplot.sh VERSION copies the browser files of npm's uplot at VERSION
# into web/static/vendor/uplot: the time-series charts of the admin
# dashboard (/admin/events/{id}). The files are checked in, so the binary
# and its tests need neither npm nor a network; run this only to move to
# another release, then look at the dashboard, run web/test/admin.test.mjs
# and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/vendor-uplot.sh VERSION (e.g. 1.6.32)}
dest=web/static/vendor/uplot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --ignore-scripts --loglevel=error "uplot@$version" >&2
src=$tmp/node_modules/uplot
rm -rf "$dest"
mkdir -p "$dest"
cp "$src"/dist/{uPlot.esm.js,uPlot.min.css} "$src"/LICENSE "$dest"/
cat >"$dest/VERSION" <<NOTE
uplot $version (npm), MIT: see LICENSE beside this file. Copied by
scripts/vendor-uplot.sh, unchanged: uPlot.esm.js (an ES module) and its
stylesheet uPlot.min.css.
Used by the admin dashboard (web/static/js/app/timechart.js).
NOTE
echo "vendored uplot $version into $dest" >&2
