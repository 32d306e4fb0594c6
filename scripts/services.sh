#!/usr/bin/env bash
# services.sh makes Postgres and Redis reachable for Boxoffice and prints the
# URLs to use, as shell lines for eval (the Makefile reads them that way):
#
#   export DATABASE_URL='postgres://...'
#   export REDIS_URL='redis://...'
#
# Usage:
#   scripts/services.sh                     ensure both services, print the URLs
#   scripts/services.sh redis-start [PORT]  start redis-server on 127.0.0.1:PORT
#                                           (default 6379) unless one answers there
#   scripts/services.sh redis-stop [PORT]   stop it (SHUTDOWN NOSAVE: like a crash,
#                                           unsaved data is lost); no-op if none
#   scripts/services.sh need CMD=PACKAGE... install each Debian PACKAGE whose
#                                           CMD is not on PATH (as root on Debian;
#                                           elsewhere say what to install)
#
# Order of preference, for each service:
#   1. DATABASE_URL / REDIS_URL from the environment, if they answer.
#   2. The local defaults (DEFAULT_*_URL below), if they answer.
#   3. As root on Debian: install (apt-get) and start what is missing, create the
#      boxoffice role and database, then use the local defaults.
#   4. Otherwise stop with a message saying what to install.
#
# Only the URLs go to stdout; progress and errors go to stderr. Nothing is
# printed on stderr when both services already answer.
set -euo pipefail

# Keep in sync with the Makefile.
readonly DEFAULT_DATABASE_URL='postgres://boxoffice:boxoffice@127.0.0.1:5432/boxoffice?sslmode=disable'
readonly DEFAULT_REDIS_URL='redis://127.0.0.1:6379/0'
# The parts of the defaults that the provisioning below creates.
readonly PG_PORT=5432 PG_ROLE=boxoffice PG_PASSWORD=boxoffice PG_DB=boxoffice
readonly REDIS_PORT=6379
# Where redis-start keeps its log and pid file (no data: persistence is off).
readonly REDIS_RUN_DIR_BASE="${TMPDIR:-/tmp}/boxoffice-redis"
readonly LOCK_FILE="${TMPDIR:-/tmp}/boxoffice-services.lock"

log() { printf 'services: %s\n' "$*" >&2; }
die() {
	printf 'services: %s\n' "$@" >&2
	exit 1
}

# redact hides the password of a URL for messages.
redact() { sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#' <<<"$1"; }

# shquote prints its argument single-quoted for the shell.
shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

is_root() { [[ $(id -u) == 0 ]]; }
is_debian() { [[ -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1; }
can_provision() { is_root && is_debian; }

# --- reachability ----------------------------------------------------------

# pg_reachable succeeds when a session can be opened with the URL (so the role,
# password and database are right too); without psql it falls back to
# pg_isready, which only checks that the server accepts connections.
pg_reachable() {
	if command -v psql >/dev/null 2>&1; then
		PGCONNECT_TIMEOUT=3 psql -X -q -At -d "$1" -c 'select 1' >/dev/null 2>&1
	elif command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -t 3 -d "$1" >/dev/null 2>&1
	else
		return 1
	fi
}

# redis_reachable succeeds when PING answers PONG.
redis_reachable() {
	local out
	command -v redis-cli >/dev/null 2>&1 || return 1
	out=$(timeout 3 redis-cli -u "$1" ping 2>/dev/null) || return 1
	[[ $out == PONG ]]
}

redis_port_answers() { redis_reachable "redis://127.0.0.1:$1/0"; }

# --- installing --------------------------------------------------------------

# apt_install installs Debian packages, running apt-get update only when a
# package has no candidate (empty or stale lists) or the install fails.
# apt-get's and dpkg's chatter is dropped; their errors go to stderr.
apt_install() {
	local pkg policy updated=''
	export DEBIAN_FRONTEND=noninteractive
	for pkg in "$@"; do
		# Captured first: grep -q in a pipe could end apt-cache with SIGPIPE,
		# which pipefail would turn into a false "no candidate".
		policy=$(apt-cache policy "$pkg" 2>/dev/null || true)
		if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
			log "apt-get update"
			detached apt-get update -qq >/dev/null
			updated=1
			break
		fi
	done
	log "apt-get install -y $*"
	if ! detached apt-get install -y -qq "$@" >/dev/null; then
		[[ -z $updated ]] || die "apt-get install $* failed"
		log "apt-get update (install failed, retrying with fresh lists)"
		detached apt-get update -qq >/dev/null
		detached apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
	fi
}

# detached runs a command that may leave daemons behind (apt-get's postinst,
# pg_ctlcluster, redis-server) with the lock's descriptor closed, so that a
# daemon does not hold the lock for as long as it runs.
detached() { "$@" 9>&-; }

# apt-get waits for another apt run's lock (a second make test, unattended
# upgrades) instead of failing at once.
apt-get() { command apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# take_lock serialises provisioning between concurrent runs (two worktrees
# running make test at once). Best effort: without flock it runs unlocked.
locked=''
take_lock() {
	[[ -z $locked ]] || return 0
	locked=1
	command -v flock >/dev/null 2>&1 || return 0
	[[ -w $LOCK_FILE || ! -e $LOCK_FILE ]] || return 0
	{ exec 9>>"$LOCK_FILE"; } 2>/dev/null || return 0
	flock -w 300 9 || die "timed out waiting for $LOCK_FILE"
}

# --- Postgres ----------------------------------------------------------------

# pg_newest_version prints the newest PostgreSQL major version whose server
# binaries are installed (Debian layout), or nothing.
pg_newest_version() {
	local bin
	for bin in /usr/lib/postgresql/*/bin/postgres; do
		[[ -x $bin ]] || continue
		bin=${bin#/usr/lib/postgresql/}
		printf '%s\n' "${bin%%/*}"
	done | sort -V | tail -n 1
}

pg_help() {
	die "Postgres is not reachable at $(redact "$DEFAULT_DATABASE_URL")." \
		"Either set DATABASE_URL to a server that answers, or start one:" \
		"  - Debian/Ubuntu, as root: run this script again (it installs and starts PostgreSQL)," \
		"  - elsewhere: install PostgreSQL 15 or newer and create the role with" \
		"      CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD'; CREATE DATABASE $PG_DB OWNER $PG_ROLE;" \
		"  - or, with Docker: docker compose up -d postgres redis"
}

# pg_psql runs psql as the postgres superuser on the cluster's Unix socket,
# from / so that psql does not complain about a working directory (such as a
# clone under /root) that postgres may not enter.
pg_psql() {
	local cluster=$1
	shift
	(cd / && runuser -u postgres -- psql --cluster "$cluster" -X -q -At -v ON_ERROR_STOP=1 "$@")
}

# pg_provision installs, creates and starts the local cluster on $PG_PORT as
# needed, keeps it on loopback, and creates the boxoffice role and database.
pg_provision() {
	local ver line v c status conf exists
	ver=$(pg_newest_version)
	if [[ -z $ver ]]; then
		log "installing PostgreSQL (no server binaries under /usr/lib/postgresql)"
		apt_install postgresql
		ver=$(pg_newest_version)
		[[ -n $ver ]] || die "apt-get install postgresql left no server under /usr/lib/postgresql"
	fi

	command -v pg_lsclusters >/dev/null 2>&1 ||
		die "PostgreSQL $ver is installed without Debian's postgresql-common (pg_lsclusters); apt-get install postgresql"
	# The cluster that owns our port, whatever its version ("15 main online").
	line=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2, $4; exit }')
	if [[ -z $line ]]; then
		if pg_lsclusters --no-header 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
			die "cluster $ver/main exists but not on port $PG_PORT; set DATABASE_URL to it or move it to $PG_PORT"
		fi
		log "creating PostgreSQL cluster $ver/main on port $PG_PORT"
		detached pg_createcluster --port "$PG_PORT" "$ver" main >/dev/null
		line="$ver main down"
	fi
	read -r v c status <<<"$line"

	if [[ $status != online* ]]; then
		# Loopback only, and room for the test suite: `go test ./...` runs
		# two packages at once, each with pools of its own and a few real
		# app nodes (the default 100 connections ran out). Written only
		# while the cluster is down, so a running cluster that someone else
		# uses is never restarted by this script.
		conf=/etc/postgresql/$v/$c/conf.d/boxoffice.conf
		if [[ -d ${conf%/*} ]] && ! grep -qs "^max_connections = 300" "$conf"; then
			printf '%s\n' "# Written by boxoffice scripts/services.sh: loopback only, room for the tests." \
				"listen_addresses = '127.0.0.1'" "max_connections = 300" >"$conf"
		fi
		log "starting PostgreSQL $v/$c (pg_ctlcluster $v $c start)"
		detached pg_ctlcluster "$v" "$c" start >&2 || die "pg_ctlcluster $v $c start failed; see /var/log/postgresql/postgresql-$v-$c.log"
		# A cluster that was only stopped usually has the role and database.
		pg_reachable "$DEFAULT_DATABASE_URL" && return
	fi

	exists=$(pg_psql "$v/$c" -c "select 1 from pg_roles where rolname = '$PG_ROLE'")
	if [[ -z $exists ]]; then
		log "creating role $PG_ROLE"
		pg_psql "$v/$c" -c "create role $PG_ROLE login createdb password '$PG_PASSWORD'" >&2
	else
		# The role exists but the default URL failed: make it match the URL.
		log "resetting role $PG_ROLE (login, createdb, password from the default URL)"
		pg_psql "$v/$c" -c "alter role $PG_ROLE login createdb password '$PG_PASSWORD'" >&2
	fi
	exists=$(pg_psql "$v/$c" -c "select 1 from pg_database where datname = '$PG_DB'")
	if [[ -z $exists ]]; then
		log "creating database $PG_DB"
		pg_psql "$v/$c" -c "create database $PG_DB owner $PG_ROLE" >&2
	fi
}

# ensure_postgres sets DATABASE_URL to a URL that answers.
ensure_postgres() {
	local url=${DATABASE_URL:-$DEFAULT_DATABASE_URL}
	pg_reachable "$url" && { DATABASE_URL=$url; return; }
	if [[ $url != "$DEFAULT_DATABASE_URL" ]]; then
		log "DATABASE_URL=$(redact "$url") does not answer; trying the local default"
		if pg_reachable "$DEFAULT_DATABASE_URL"; then
			DATABASE_URL=$DEFAULT_DATABASE_URL
			return
		fi
	fi
	can_provision || pg_help
	take_lock
	if ! pg_reachable "$DEFAULT_DATABASE_URL"; then
		pg_provision
	fi
	pg_reachable "$DEFAULT_DATABASE_URL" ||
		die "Postgres still does not accept $(redact "$DEFAULT_DATABASE_URL");" \
			"check pg_hba.conf allows password (scram-sha-256) logins from 127.0.0.1."
	DATABASE_URL=$DEFAULT_DATABASE_URL
}

# --- Redis -------------------------------------------------------------------

redis_help() {
	die "Redis is not reachable at $DEFAULT_REDIS_URL." \
		"Either set REDIS_URL to a server that answers, or start one:" \
		"  - Debian/Ubuntu, as root: run this script again (it installs and starts redis-server)," \
		"  - elsewhere: install Redis 7 and run: $0 redis-start" \
		"  - or, with Docker: docker compose up -d postgres redis"
}

# redis_start starts a throwaway redis-server on 127.0.0.1:PORT: daemonized,
# no persistence, log and pid file under $REDIS_RUN_DIR_BASE-PORT. It needs no
# root and no init system, so tests can stop and start Redis at will.
redis_start() {
	local port=$1 dir i
	redis_port_answers "$port" && return 0
	command -v redis-server >/dev/null 2>&1 || redis_help
	dir=$REDIS_RUN_DIR_BASE-$port
	mkdir -p "$dir"
	log "starting redis-server on 127.0.0.1:$port (log: $dir/redis.log)"
	detached redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
		--dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
		--save '' --appendonly no >&2
	for ((i = 0; i < 50; i++)); do
		redis_port_answers "$port" && return 0
		sleep 0.1
	done
	die "redis-server on port $port did not answer within 5s; see $dir/redis.log"
}

# redis_stop shuts down whatever Redis answers on 127.0.0.1:PORT, without saving.
redis_stop() {
	local port=$1 i
	redis_port_answers "$port" || return 0
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	for ((i = 0; i < 50; i++)); do
		redis_port_answers "$port" || return 0
		sleep 0.1
	done
	die "Redis on port $port is still answering after SHUTDOWN"
}

# ensure_redis sets REDIS_URL to a URL that answers.
ensure_redis() {
	local url=${REDIS_URL:-$DEFAULT_REDIS_URL}
	redis_reachable "$url" && { REDIS_URL=$url; return; }
	if [[ $url != "$DEFAULT_REDIS_URL" ]]; then
		log "REDIS_URL=$(redact "$url") does not answer; trying the local default"
		if redis_reachable "$DEFAULT_REDIS_URL"; then
			REDIS_URL=$DEFAULT_REDIS_URL
			return
		fi
	fi
	if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
		can_provision || redis_help
		take_lock
		log "installing Redis (no redis-server on PATH)"
		apt_install redis-server
	fi
	# The package may have started its own service on the default port;
	# redis_start then does nothing.
	take_lock
	redis_start "$REDIS_PORT"
	REDIS_URL=$DEFAULT_REDIS_URL
}

# --- main --------------------------------------------------------------------

# port_arg checks the optional PORT argument of redis-start and redis-stop.
port_arg() {
	port=${1:-$REDIS_PORT}
	[[ $port =~ ^[0-9]+$ ]] || die "not a port: $port"
}

case ${1:-} in
'')
	ensure_postgres
	ensure_redis
	printf 'export DATABASE_URL=%s\n' "$(shquote "$DATABASE_URL")"
	printf 'export REDIS_URL=%s\n' "$(shquote "$REDIS_URL")"
	;;
redis-start)
	port_arg "${2:-}"
	redis_start "$port"
	;;
redis-stop)
	port_arg "${2:-}"
	redis_stop "$port"
	;;
need)
	shift
	missing=()
	for pair in "$@"; do
		[[ $pair == ?*=?* ]] || die "need: want CMD=PACKAGE, got $pair"
		command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
	done
	if ((${#missing[@]})); then
		can_provision || die "missing ${missing[*]}: install them (Debian packages) and run again"
		take_lock
		apt_install "${missing[@]}"
	fi
	;;
-h | --help | help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" ;;
*) die "unknown command: $1 (try --help)" ;;
esac
