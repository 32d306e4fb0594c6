#!/usr/bin/env bash
# testpeers.sh installs and starts the test peers that stand in for outside
# services, and prints their URLs as shell lines for eval (the Makefile's
# test target reads them that way):
#
#   export STRIPE_MOCK_URL='http://127.0.0.1:12111'     stripe-mock: Stripe's API
#   export MAILPIT_URL='http://127.0.0.1:8025'          mailpit's HTTP API
#   export MAILPIT_SMTP_URL='smtp://127.0.0.1:1025?tls=off'
#
# Usage:
#   scripts/testpeers.sh          ensure both peers run, print the URLs
#   scripts/testpeers.sh stop     stop the peers this script started
#
# Each peer is `go install`ed at a pinned version into its own folder under
# $BOXOFFICE_TOOLS (default ~/.cache/boxoffice/tools), once; a peer that
# already answers on its port is reused, so a second run costs milliseconds.
# They listen on loopback only. Ports: STRIPE_MOCK_PORT [12111],
# MAILPIT_HTTP_PORT [8025], MAILPIT_SMTP_PORT [1025].
#
# Only the URLs go to stdout; progress and errors go to stderr.
set -euo pipefail

readonly STRIPE_MOCK_VERSION=v0.203.0
readonly MAILPIT_VERSION=v1.33.1
readonly TOOLS=${BOXOFFICE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/boxoffice/tools}
readonly RUN_DIR="${TMPDIR:-/tmp}/boxoffice-testpeers"
readonly LOCK_FILE="${TMPDIR:-/tmp}/boxoffice-testpeers.lock"
readonly STRIPE_MOCK_PORT=${STRIPE_MOCK_PORT:-12111}
readonly MAILPIT_HTTP_PORT=${MAILPIT_HTTP_PORT:-8025}
readonly MAILPIT_SMTP_PORT=${MAILPIT_SMTP_PORT:-1025}

log() { printf 'testpeers: %s\n' "$*" >&2; }
die() {
	printf 'testpeers: %s\n' "$@" >&2
	exit 1
}

# http_status prints the HTTP status of GET PATH on 127.0.0.1:PORT, or
# nothing; bash's /dev/tcp needs no curl on a fresh machine.
http_status() {
	local port=$1 path=$2 line
	{
		exec 3<>"/dev/tcp/127.0.0.1/$port"
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_123\r\n\r\n' "$path" >&3
		IFS= read -r -t 3 line <&3 || true
		exec 3>&-
		line=${line#HTTP/1.? }
		printf '%s\n' "${line%% *}"
	} 2>/dev/null || true
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stripe_mock_ok() { [[ $(http_status "$STRIPE_MOCK_PORT" /v1/payment_intents) == 200 ]]; }
mailpit_ok() { [[ $(http_status "$MAILPIT_HTTP_PORT" /api/v1/info) == 200 ]] && port_open "$MAILPIT_SMTP_PORT"; }

# install prints the path of NAME at VERSION, go-installing it first if needed.
install() {
	local name=$1 module=$2 version=$3 dir
	dir=$TOOLS/$name-$version
	if [[ ! -x $dir/$name ]]; then
		command -v go >/dev/null 2>&1 || die "go is not on PATH; it is needed to install $name"
		log "go install $module@$version (once, into $dir)"
		mkdir -p "$dir"
		GOBIN=$dir GOFLAGS=-mod=mod go install "$module@$version" >&2 || die "go install $module@$version failed"
	fi
	printf '%s\n' "$dir/$name"
}

# start runs a peer in the background, detached from this shell and the lock,
# and waits until ok_fn says it answers.
start() {
	local name=$1 ok_fn=$2 i
	shift 2
	mkdir -p "$RUN_DIR"
	log "starting $name (log: $RUN_DIR/$name.log)"
	setsid nohup "$@" >"$RUN_DIR/$name.log" 2>&1 9>&- </dev/null &
	echo $! >"$RUN_DIR/$name.pid"
	for ((i = 0; i < 100; i++)); do
		"$ok_fn" && return 0
		sleep 0.1
	done
	die "$name did not answer within 10s; see $RUN_DIR/$name.log"
}

take_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	{ exec 9>>"$LOCK_FILE"; } 2>/dev/null || return 0
	flock -w 600 9 || die "timed out waiting for $LOCK_FILE"
}

ensure() {
	if ! stripe_mock_ok || ! mailpit_ok; then
		take_lock
		if ! stripe_mock_ok; then
			port_open "$STRIPE_MOCK_PORT" && die "port $STRIPE_MOCK_PORT is taken by something that is not stripe-mock; set STRIPE_MOCK_PORT"
			bin=$(install stripe-mock github.com/stripe/stripe-mock "$STRIPE_MOCK_VERSION")
			start stripe-mock stripe_mock_ok "$bin" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT"
		fi
		if ! mailpit_ok; then
			port_open "$MAILPIT_HTTP_PORT" && die "port $MAILPIT_HTTP_PORT is taken by something that is not mailpit; set MAILPIT_HTTP_PORT"
			bin=$(install mailpit github.com/axllent/mailpit "$MAILPIT_VERSION")
			start mailpit mailpit_ok "$bin" --listen "127.0.0.1:$MAILPIT_HTTP_PORT" --smtp "127.0.0.1:$MAILPIT_SMTP_PORT" \
				--max 5000 --smtp-auth-accept-any --smtp-auth-allow-insecure --quiet
		fi
	fi
	printf "export STRIPE_MOCK_URL='http://127.0.0.1:%s'\n" "$STRIPE_MOCK_PORT"
	printf "export MAILPIT_URL='http://127.0.0.1:%s'\n" "$MAILPIT_HTTP_PORT"
	printf "export MAILPIT_SMTP_URL='smtp://127.0.0.1:%s?tls=off'\n" "$MAILPIT_SMTP_PORT"
}

stop() {
	local name pid
	for name in stripe-mock mailpit; do
		[[ -r $RUN_DIR/$name.pid ]] || continue
		pid=$(<"$RUN_DIR/$name.pid")
		kill "$pid" 2>/dev/null || true
		rm -f "$RUN_DIR/$name.pid"
	done
}

case ${1:-} in
'') ensure ;;
stop) stop ;;
-h | --help | help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" ;;
*) die "unknown command: $1 (try --help)" ;;
esac
