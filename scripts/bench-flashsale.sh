#!/usr/bin/env bash
# bench-flashsale.sh runs one flash sale of the demo stadium (about 49,000
# seats, 10% held back) on this machine: a fresh database, one
# `boxoffice serve` with RATE_LIMITS=off, FANS seeded fans (bulk accounts
# with sessions) and WATCHERS sockets, then `boxoffice flashsale` with the
# invariants checked in Postgres. The server and the driver share the
# machine, so the driver's own CPU (proof of work, JSON, sockets) is part of
# the figures. Results go to docs/benchmarks.md by hand.
#
# Usage: scripts/bench-flashsale.sh   (env: FANS [20000] WATCHERS [1000]
#        ROOM [on|off, default on] DURATION [150s] CONCURRENCY [256]
#        ADMIT_PER_MINUTE [120000] ACTIVE_LIMIT [5000] ADMISSION_TTL [120]
#        NODES [1: app nodes on one database and Redis, fans spread over
#        them] FLOOR [set: sell the demo arena's event, whose standing floor
#        the driver's -ga share of fans holds by quantity]
#        OUT [bench-flashsale.json] DRIVER_PROFILE [a file: the driver's
#        CPU profile of the run; PPROF_ADDR profiles the server])
set -euo pipefail
cd "$(dirname "$0")/.."
fans=${FANS:-20000}
watchers=${WATCHERS:-1000}
room=${ROOM:-on}
duration=${DURATION:-150s}
concurrency=${CONCURRENCY:-256}
admit=${ADMIT_PER_MINUTE:-120000}
# The room's active-shopper limit (a buyer's place is freed when the order
# is written; a fan who lost or was declined keeps it until the admission
# expires).
active=${ACTIVE_LIMIT:-5000}
# How long an admission lasts (the room's admission_ttl_seconds). A fan who
# lost every seat they tried keeps an active-shopper place until it ends,
# so with the 10-minute default the last seats of a sale wait for places to
# free up; a flash sale runs shorter admissions.
admission_ttl=${ADMISSION_TTL:-120}
nodes=${NODES:-1}
out=${OUT:-bench-flashsale.json}
eval "$(bash scripts/services.sh)"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

db="boxoffice_flashbench_$$"
base_url=$DATABASE_URL
bench_url=$(sed -E "s#/[^/?]+(\?|$)#/$db\1#" <<<"$DATABASE_URL")
tmp=$(mktemp -d)
servers=()
cleanup() {
	for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
	psql -X -q "$base_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
psql -X -q -v ON_ERROR_STOP=1 "$base_url" -c "CREATE DATABASE $db" >/dev/null

go build -o bin/boxoffice ./cmd/boxoffice
# REVIEW_SIGNALS=off: the driver's fans pay at machine speed, which the
# review signals would (rightly) hold back for an admin; the benchmark
# measures the sale itself.
export DATABASE_URL=$bench_url REDIS_PREFIX="fb$$:" LOG_LEVEL=error RATE_LIMITS=off REVIEW_SIGNALS=off PAYMENTS=test \
	SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') DB_MAX_CONNS=${DB_MAX_CONNS:-$((nodes == 1 ? 40 : 40 / nodes + 4))}
# One free port per node; the first node is the one -url names.
mapfile -t ports < <(python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
for s in socks: print(s.getsockname()[1])' "$nodes")
port=${ports[0]}
export LISTEN_ADDR=127.0.0.1:$port BASE_URL=http://127.0.0.1:$port
more_nodes=$(for p in "${ports[@]:1}"; do printf 'http://127.0.0.1:%s,' "$p"; done)

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
bin/boxoffice seed demo -opens-in 0s
if [[ -n ${FLOOR:-} ]]; then
	# The demo arena's event: seated bowls and a 5,000-place standing floor.
	key=demo-standing-floor
elif [[ $room == on ]]; then
	key=demo-waiting-room
else
	key=demo-on-sale
fi
if [[ $room == on ]]; then
	psql -X -q -v ON_ERROR_STOP=1 "$bench_url" -c "UPDATE events SET waiting_room = '{\"enabled\": true, \"admit_per_minute\": $admit, \"active_limit\": $active, \"pow_difficulty\": 12, \"admission_ttl_seconds\": $admission_ttl}' WHERE seed_key = '$key'" >/dev/null
fi
event=$(psql -X -At "$bench_url" -c "SELECT id FROM events WHERE seed_key = '$key'")
echo "== seeding $fans fans"
start=$(date +%s.%N)
bin/boxoffice seed fans "$fans" -tokens "$tmp/fans.tokens" >/dev/null
echo "   $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
for i in "${!ports[@]}"; do
	LISTEN_ADDR=127.0.0.1:${ports[$i]} BASE_URL=http://127.0.0.1:${ports[$i]} bin/boxoffice serve >"$tmp/server$i.log" 2>&1 &
	servers+=($!)
done
for p in "${ports[@]}"; do
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
done
echo "== flash sale: event $event (waiting room $room), $fans fans, $watchers watchers, $nodes node(s), cap $duration"
bin/boxoffice flashsale -url "$BASE_URL" ${more_nodes:+-nodes "${more_nodes%,}"} -event "$event" -fans "$fans" -tokens "$tmp/fans.tokens" \
	-watchers "$watchers" -measuring-watchers 20 -bots 0.05 -decline 0.05 -duration "$duration" \
	-concurrency "$concurrency" -queue-poll 500ms -database-url "$bench_url" -report "$out" \
	${DRIVER_PROFILE:+-cpuprofile "$DRIVER_PROFILE"} || status=$?
echo "== report: $out; server log tail:"
tail -5 "$tmp/server0.log"
exit "${status:-0}"
