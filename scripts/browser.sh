#!/usr/bin/env bash
# browser.sh gets the browser tests' tools ready: Debian's Chromium (never a
# browser downloaded by a test tool) and web/node_modules (playwright-core,
# pinned by web/package-lock.json). Idempotent and quiet when all is there;
# progress goes to stderr. Without root on Debian it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'browser: %s\n' "$*" >&2; }

if [[ ! -x /usr/bin/chromium ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		log "installing Debian's chromium (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		# Wait for another apt run (a second make test, unattended upgrades)
		# instead of failing on its lock.
		apt=(apt-get -o DPkg::Lock::Timeout=600)
		"${apt[@]}" install -y -qq chromium >/dev/null 2>&1 || { "${apt[@]}" update -qq >/dev/null && "${apt[@]}" install -y -qq chromium >/dev/null; }
	else
		log "Chromium is missing: install Debian's chromium package (apt-get install chromium) to run the browser tests"
		exit 1
	fi
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	log "Node.js and npm are missing: install them (Node 20) to run the browser tests"
	exit 1
fi
stamp=web/node_modules/.package-lock.json
if [[ ! -f $stamp || web/package-lock.json -nt $stamp ]]; then
	log "npm ci in web/ (playwright-core)"
	npm ci --prefix web --no-audit --no-fund --loglevel=error >&2
fi
