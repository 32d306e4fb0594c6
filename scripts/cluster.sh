#!/usr/bin/env bash
# cluster.sh runs the docker-compose.yml topology on loopback without Docker:
# a three-master Redis Cluster (redis-server in cluster mode), three
# `boxoffice serve` nodes sharing Postgres, SECRET_KEY and the cluster, and
# nginx (Debian's) in front of them with deploy/nginx.conf, adapted to
# loopback ports, balancing HTTP and WebSocket over the three.
#
# Usage:
#   scripts/cluster.sh [run]       start everything, print the URLs, stop it
#                                  all on Ctrl-C (make cluster)
#   scripts/cluster.sh check       start everything, run TestClusterThroughNginx
#                                  against it (a hold made on each node reaches a
#                                  socket opened through nginx), stop (make
#                                  cluster-check)
#   scripts/cluster.sh nginx-check nginx -t on deploy/nginx.conf adapted to
#                                  loopback (make test runs it)
#
# Ports (environment, defaults): CLUSTER_PORT=8090 for nginx,
# CLUSTER_APP_PORTS="8091 8092 8093", CLUSTER_REDIS_PORTS="7001 7002 7003"
# (cluster bus on each port + 10000). SECRET_KEY is shared by the nodes
# (random for the run when unset); SEED=0 skips `boxoffice seed demo`.
# Postgres comes from scripts/services.sh (DATABASE_URL); Redis and nginx
# packages are installed through it when missing. Logs stay in the run
# folder that the script prints, and are removed on a clean stop.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly NGINX_PORT=${CLUSTER_PORT:-8090}
read -r -a APP_PORTS <<<"${CLUSTER_APP_PORTS:-8091 8092 8093}"
read -r -a REDIS_PORTS <<<"${CLUSTER_REDIS_PORTS:-7001 7002 7003}"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
	printf 'cluster: %s\n' "$@" >&2
	exit 1
}

# nginx_conf writes deploy/nginx.conf with the compose names replaced by
# loopback addresses: the upstream "app:8080" becomes the three nodes and
# "listen 80" the loopback port. Everything else (WebSocket upgrade headers,
# timeouts, keepalive) is the file Docker would use.
nginx_conf() {
	local out=$1 listen=$2 servers='' p
	shift 2
	for p in "$@"; do servers+="server 127.0.0.1:$p; "; done
	grep -q '^ *server app:8080;' deploy/nginx.conf || die "deploy/nginx.conf has no 'server app:8080;' line to adapt"
	grep -q '^ *listen 80;' deploy/nginx.conf || die "deploy/nginx.conf has no 'listen 80;' line to adapt"
	sed -e "s|^\( *\)server app:8080;|\1$servers|" -e "s|^\( *\)listen 80;|\1listen 127.0.0.1:$listen;|" \
		deploy/nginx.conf >"$out"
}

# nginx_globals are the directives a private nginx needs besides the file:
# foreground, its own pid and error log (the run folder, not /var).
nginx_globals() { printf 'daemon off; pid %s/nginx.pid; error_log %s/nginx-error.log warn;' "$1" "$1"; }

nginx_check() {
	local dir
	bash scripts/services.sh need nginx=nginx
	dir=$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-nginx-check.XXXXXX")
	nginx_conf "$dir/nginx.conf" 8080 8081 8082 8083
	if ! nginx -q -t -p "$dir" -c "$dir/nginx.conf" -g "$(nginx_globals "$dir")"; then
		rm -rf "$dir"
		die "deploy/nginx.conf does not pass nginx -t (adapted to loopback)"
	fi
	rm -rf "$dir"
	echo "cluster: deploy/nginx.conf passes nginx -t" >&2
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for runs its command every 0.1 s until it succeeds (at most $1 s).
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

cluster_ok() { redis-cli -p "$1" cluster info | grep -q '^cluster_state:ok'; }

# --- run ---------------------------------------------------------------------

# The processes this run started, by tier. Each runs in its own session
# (setsid), so a Ctrl-C in the terminal reaches only this script, which then
# stops them tier by tier: nginx, the nodes, Redis.
REDIS_PIDS=() APP_PIDS=() NGINX_PIDS=()
RUN_DIR=''
clean_stop=''

# stop_tier sends SIGTERM to every process of a tier and waits for them (the
# nodes finish requests in flight and close their sockets).
stop_tier() {
	local pid
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

stop_all() {
	trap - INT TERM EXIT
	stop_tier "${NGINX_PIDS[@]}"
	stop_tier "${APP_PIDS[@]}"
	stop_tier "${REDIS_PIDS[@]}"
	if [[ -n $RUN_DIR ]]; then
		if [[ -n $clean_stop ]]; then
			rm -rf "$RUN_DIR"
		else
			log "logs kept in $RUN_DIR"
		fi
	fi
	log "stopped"
}

start_all() {
	local p i addrs=() nodes=() bin
	eval "$(bash scripts/services.sh)"
	bash scripts/services.sh need redis-server=redis-server redis-cli=redis-tools nginx=nginx
	for p in "$NGINX_PORT" "${APP_PORTS[@]}" "${REDIS_PORTS[@]}"; do
		port_free "$p" || die "port $p is taken; set CLUSTER_PORT, CLUSTER_APP_PORTS or CLUSTER_REDIS_PORTS"
	done
	((${#APP_PORTS[@]} >= 1 && ${#REDIS_PORTS[@]} >= 3)) || die "want at least one app port and three Redis ports"
	RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-cluster.XXXXXX")
	trap stop_all EXIT
	# Ctrl-C is the normal way to stop: a clean stop.
	trap 'clean_stop=1; exit 0' INT
	trap 'exit 143' TERM

	bin=$RUN_DIR/boxoffice
	log "building $bin"
	go build -o "$bin" ./cmd/boxoffice

	for p in "${REDIS_PORTS[@]}"; do
		mkdir -p "$RUN_DIR/redis-$p"
		setsid redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
			--dir "$RUN_DIR/redis-$p" --save '' --appendonly no --daemonize no \
			--logfile "$RUN_DIR/redis-$p/redis.log" &
		REDIS_PIDS+=($!)
		addrs+=("127.0.0.1:$p")
	done
	for p in "${REDIS_PORTS[@]}"; do
		wait_for 5 redis-cli -p "$p" ping || die "redis-server on $p did not answer; see $RUN_DIR/redis-$p/redis.log"
	done
	log "creating the Redis Cluster: ${addrs[*]}"
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$RUN_DIR/cluster-create.log" 2>&1 ||
		die "redis-cli --cluster create failed; see $RUN_DIR/cluster-create.log"
	for p in "${REDIS_PORTS[@]}"; do
		wait_for 10 cluster_ok "$p" || die "cluster_state is not ok on $p"
	done

	REDIS_URL="redis+cluster://$(
		IFS=,
		echo "${addrs[*]}"
	)"
	export REDIS_URL
	export SECRET_KEY=${SECRET_KEY:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}
	export BASE_URL="http://127.0.0.1:$NGINX_PORT"
	# nginx is the edge: trust its X-Real-IP, so rate limits count fans.
	export TRUSTED_PROXIES=127.0.0.1/32
	"$bin" migrate 2>>"$RUN_DIR/migrate.log" || die "migrate failed; see $RUN_DIR/migrate.log"
	if [[ ${SEED:-1} != 0 ]]; then
		log "seeding the demo events (SEED=0 skips)"
		"$bin" seed demo >/dev/null 2>>"$RUN_DIR/seed.log" || die "seed demo failed; see $RUN_DIR/seed.log"
	fi
	for i in "${!APP_PORTS[@]}"; do
		p=${APP_PORTS[i]}
		LISTEN_ADDR=127.0.0.1:$p DB_MAX_CONNS=${DB_MAX_CONNS:-16} setsid "$bin" serve >"$RUN_DIR/app-$p.log" 2>&1 &
		APP_PIDS+=($!)
		nodes+=("http://127.0.0.1:$p")
	done
	for p in "${APP_PORTS[@]}"; do
		wait_for 60 "$bin" healthcheck -url "http://127.0.0.1:$p/readyz" ||
			die "node on $p is not ready; see $RUN_DIR/app-$p.log"
	done

	nginx_conf "$RUN_DIR/nginx.conf" "$NGINX_PORT" "${APP_PORTS[@]}"
	setsid nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g "$(nginx_globals "$RUN_DIR")" &
	NGINX_PIDS+=($!)
	wait_for 10 "$bin" healthcheck -url "http://127.0.0.1:$NGINX_PORT/readyz" ||
		die "nginx on $NGINX_PORT does not reach the nodes; see $RUN_DIR/nginx-error.log"

	NODES=$(
		IFS=,
		echo "${nodes[*]}"
	)
	cat >&2 <<-EOF
		cluster: up (run folder $RUN_DIR)
		  nginx         $BASE_URL  (HTTP and WebSocket, balanced over the nodes)
		  app nodes     ${nodes[*]}
		  Redis Cluster REDIS_URL=$REDIS_URL
		  Postgres      DATABASE_URL=$(sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#' <<<"$DATABASE_URL")
	EOF
}

case ${1:-run} in
run)
	start_all
	log "Ctrl-C stops everything"
	# Any process ending on its own ends the run.
	set +e
	wait -n "${REDIS_PIDS[@]}" "${APP_PIDS[@]}" "${NGINX_PIDS[@]}"
	status=$?
	set -e
	log "a process exited (status $status); stopping"
	exit 1
	;;
check)
	start_all
	log "running TestClusterThroughNginx"
	CLUSTER_URL=$BASE_URL CLUSTER_NODES=$NODES go test -count=1 -race -run '^TestClusterThroughNginx$' -v ./cmd/boxoffice/
	clean_stop=1
	;;
nginx-check) nginx_check ;;
-h | --help | help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" ;;
*) die "unknown command: $1 (try --help)" ;;
esac
