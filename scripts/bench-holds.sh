#!/usr/bin/env bash
# bench-holds.sh measures, in one run on one machine, successful holds per
# second through Boxoffice's HTTP API next to the Postgres ceiling for the
# same kind of write: pgbench running one conditional UPDATE per transaction
# (UPDATE ... WHERE id = :id AND status = 'available'). The ratio is the
# figure to compare across machines; absolute numbers move with the machine.
#
# Usage: scripts/bench-holds.sh [SECONDS] [CLIENTS]   (defaults: 10, 32)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
clients=${2:-32}
eval "$(bash scripts/services.sh)"
command -v pgbench >/dev/null || { echo "bench-holds: pgbench not found (apt-get install postgresql-contrib)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; psql -X -q "$DATABASE_URL" -c "DROP TABLE IF EXISTS bench_seats" >/dev/null 2>&1 || true' EXIT

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== pgbench: conditional UPDATE on 1,000,000 seats, $clients clients, ${secs}s"
psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<'SQL'
DROP TABLE IF EXISTS bench_seats;
CREATE TABLE bench_seats (id bigint PRIMARY KEY, status text NOT NULL, version bigint NOT NULL, hold_id uuid);
INSERT INTO bench_seats SELECT g, 'available', 1, NULL FROM generate_series(1, 1000000) g;
VACUUM ANALYZE bench_seats;
SQL
cat >"$tmp/update.sql" <<'SQL'
\set id random(1, 1000000)
UPDATE bench_seats SET status = 'held', version = version + 1, hold_id = gen_random_uuid() WHERE id = :id AND status = 'available';
SQL
pgbench -n -c "$clients" -j 2 -T "$secs" -f "$tmp/update.sql" "$DATABASE_URL" 2>&1 | tee "$tmp/pgbench.out" | grep -E '^(tps|latency average|number of transactions actually)'
pg_tps=$(awk -F'[ =]+' '/^tps/ {print $2; exit}' "$tmp/pgbench.out")

echo "== boxoffice: successful 2-seat holds through HTTP (BenchmarkHoldHTTP, 32 in flight, client in the same process)"
go test -run '^$' -bench 'BenchmarkHoldHTTP$' -benchtime 20000x -count 1 ./server/ 2>&1 | tee "$tmp/bench.out" | grep -E '^Benchmark'
holds=$(awk '/^BenchmarkHoldHTTP/ { for (i = 1; i <= NF; i++) if ($(i+1) == "holds/s") print $i }' "$tmp/bench.out")

echo "== seatmap alone: holds without HTTP (BenchmarkHold)"
go test -run '^$' -bench 'BenchmarkHold$' -benchtime 20000x -count 1 ./seatmap/ 2>&1 | grep -E '^Benchmark' || true

awk -v h="$holds" -v p="$pg_tps" 'BEGIN {
	printf "== result: %.0f holds/s through HTTP vs %.0f pgbench tps: ratio %.2f (target >= 0.5)\n", h, p, h / p
}'
