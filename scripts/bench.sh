#!/usr/bin/env bash
# bench.sh measures, in one run on one machine, Boxoffice's figures through
# HTTP next to baselines taken in the same run, and prints the ratios; the
# ratios are what to compare across runs and machines, since the absolute
# numbers move with the machine and whatever else runs on it.
#
#   holds/s        BenchmarkHoldHTTP       ÷ pgbench tps of one conditional
#                                            UPDATE ... WHERE status = 'available',
#                                            on a stadium event created the moment
#                                            before (fresh) and on one vacuumed and
#                                            analyzed since (settled); also
#                                            without group commit of holds
#                                            (BENCH_HOLD_BATCH=1, "solo")
#   best available BenchmarkBestHTTP       success share of 400 fans pressing
#                                            "best available" on a theater while
#                                            seats remain; seats oversold
#   rejections/s   BenchmarkRejectHTTP     ÷ redis-benchmark SET NX ops/s on
#                                            keys that are already set
#   snapshot       BenchmarkSnapshotHTTP   gzip bytes of 49,208 seats, p50/p99
#   joins/s        BenchmarkJoinHTTP       challenge + proof of work + join
#
# Each baseline runs before and after the HTTP benchmarks; the ratio uses
# their mean, and the two runs show how much the machine moved meanwhile.
# The load average is printed with every figure, and each benchmark reports
# the CPU time one operation cost the Go process and Postgres, which moves
# far less with a busy machine than the rates do. A few minutes in all.
#
# The SET NX baseline: a contended rejection ends at the Redis gate finding
# a seat key already set. redis-benchmark's own `-t set` never fails, so
# the baseline is the custom command `SET key val NX` over as many random
# keys (-r) as the benchmark has held seats: after the first few hundred
# calls every SET NX finds its key set and is refused, the cheapest answer
# Redis can give to "is this seat taken". Both sides have 32 clients and no
# pipelining.
#
# Usage: scripts/bench.sh   (env: SECS [10] pgbench and redis-benchmark seconds,
#        HOLDS [20000] REJECTS [60000] SNAPSHOTS [20000] JOINS [15000]
#        operations per benchmark, OUT [bin/bench-results.md],
#        BASE_REV: also run this tree's benchmarks against that git
#        revision's code, each right after this tree's, for before/after
#        ratios against the same baselines; server/bench_test.go and
#        server/bestbench_test.go are copied into the revision, whose
#        server test helpers they must compile with)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-10}
clients=32
held=512 # BenchmarkRejectHTTP's held seats
out=${OUT:-bin/bench-results.md}
eval "$(bash scripts/services.sh)"
for tool in pgbench redis-benchmark psql; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install postgresql-contrib redis-tools)" >&2; exit 1; }
done

tmp=$(mktemp -d)
# Per-run names: other engineers may run this against the same services.
table="bench_seats_$$"
nxprefix="bench:nx:$$:"
# The test binaries' databases, named as internal/testkit names them
# (bo_test_<hash of the module root>_<binary>), each a stadium or two.
modtag=$(printf %s "$PWD" | sha256sum | cut -c1-6)
testdbs="bo_test_${modtag}_this bo_test_${modtag}_base"
cleanup() {
	psql -X -q "$DATABASE_URL" -c "DROP TABLE IF EXISTS $table" >/dev/null 2>&1 || true
	for db in $testdbs; do psql -X -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
	redis-cli -u "$REDIS_URL" --scan --pattern "$nxprefix*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
	[[ -d $tmp/base ]] && git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== machine: $machine; $(psql -X -At "$DATABASE_URL" -c 'SHOW server_version'), Redis $(redis-cli -u "$REDIS_URL" INFO server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r'), $(go env GOVERSION); load $(load)"

psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<SQL
CREATE TABLE $table (id bigint PRIMARY KEY, status text NOT NULL, version bigint NOT NULL, hold_id uuid);
INSERT INTO $table SELECT g, 'available', 1, NULL FROM generate_series(1, 1000000) g;
VACUUM ANALYZE $table;
SQL
cat >"$tmp/update.sql" <<SQL
\\set id random(1, 1000000)
UPDATE $table SET status = 'held', version = version + 1, hold_id = gen_random_uuid() WHERE id = :id AND status = 'available';
SQL
# pgbench_tps prints the tps of one pgbench run (the table's 1,000,000
# seats leave room for every run's updates to find most seats free).
pgbench_tps() {
	pgbench -n -c "$clients" -j 2 -T "$secs" -f "$tmp/update.sql" "$DATABASE_URL" 2>&1 |
		awk -F'[ =]+' '/^tps/ {print $2; exit}'
}
# setnx_ops prints the ops/s of SET NX over $held keys already set.
read -r rhost rport rdb < <(python3 -c 'import sys, urllib.parse as u; r = u.urlparse(sys.argv[1]); print(r.hostname or "127.0.0.1", r.port or 6379, (r.path.strip("/") or "0"))' "$REDIS_URL")
setnx_ops() {
	redis-benchmark -h "$rhost" -p "$rport" --dbnum "$rdb" -c "$clients" -r "$held" -n $((secs * 40000)) --csv \
		SET "$nxprefix{seats}:__rand_int__" held NX 2>/dev/null | awk -F'"' 'NR == 2 {print $4}'
}

declare -A fig
base() { # base NAME: run baseline NAME (pg or nx) and record it with the load
	local v
	case $1 in
	pg) v=$(pgbench_tps) ;;
	nx) v=$(setnx_ops) ;;
	esac
	v=$(printf '%.0f' "${v:-0}")
	if [[ $v == 0 ]]; then # a run that reported 0 (one did at load 35) is left out of the mean
		printf '   %-40s %12s   (load %s)\n' "$2" "failed" "$(load)"
		return
	fi
	fig[$1.runs]+="${fig[$1.runs]:+ }$v"
	fig[$1.loads]+="${fig[$1.loads]:+; }$(load)"
	printf '   %-40s %12s   (load %s)\n' "$2" "$v" "$(load)"
}

echo "== baselines (1/2)"
base pg "pgbench conditional UPDATE, tps"
base nx "redis-benchmark SET NX (refused), ops/s"

# runbench BIN NAME N: run one benchmark of a server test binary; the
# binary finds its test database and Redis as `go test` would.
# Prints the result lines (one per sub-benchmark) that report UNIT
# (default p99-ms).
runbench() {
	(cd server && "$1" -test.run '^$' -test.bench "^$2\$" -test.benchtime "$3x" -test.count 1) >"$tmp/run.log" 2>&1 || true
	grep -E "^$2.* ${4:-p99-ms}" "$tmp/run.log" || { echo "bench: $2 failed:" >&2; tail -30 "$tmp/run.log" >&2; exit 1; }
}
metric() { awk -v u="$2" '{ for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' <<<"$1"; }
# record KEY LINE: keep a benchmark's common figures under KEY.
record() {
	local u
	for u in p50-ms p99-ms app-cpu-ms/op pg-cpu-ms/op pg-queries/op; do fig[$1.$u]=$(metric "$2" "$u"); done
	fig[$1.load]=$(load)
}
# cpu KEY: the CPU time per operation, for the table.
cpu() { printf 'CPU/op: app %.2f ms, Postgres %.2f ms (%.2f queries)' "${fig[$1.app-cpu-ms/op]}" "${fig[$1.pg-cpu-ms/op]}" "${fig[$1.pg-queries/op]}"; }
lat() { printf 'p50 %.1f ms, p99 %.1f ms' "${fig[$1.p50-ms]}" "${fig[$1.p99-ms]}"; }

echo "== boxoffice through HTTP ($clients in flight, client in the same process)"
go test -c -o "$tmp/this.test" ./server
if [[ -n ${BASE_REV:-} ]]; then
	git worktree add --detach "$tmp/base" "$BASE_REV" >/dev/null 2>&1
	cp server/bench_test.go server/bestbench_test.go "$tmp/base/server/"
	(cd "$tmp/base" && go test -c -o "$tmp/base.test" ./server)
fi
# Each benchmark runs for this tree, then for BASE_REV if set, back to
# back, so both see about the same machine.
tags=(this)
[[ -n ${BASE_REV:-} ]] && tags+=(base)
# Holds also run without group commit (seatmap Config.HoldBatch 1: every
# hold its own gate call, statement and publish), tagged solo, right after
# this tree's.
htags=("${tags[@]}")
htags=(this solo "${htags[@]:1}")
for tag in "${htags[@]}"; do
	if [[ $tag == solo ]]; then
		lines=$(BENCH_HOLD_BATCH=1 runbench "$tmp/this.test" BenchmarkHoldHTTP "${HOLDS:-20000}")
	else
		lines=$(runbench "$tmp/$tag.test" BenchmarkHoldHTTP "${HOLDS:-20000}")
	fi
	for age in fresh settled; do
		line=$(grep "/$age" <<<"$lines")
		fig[$tag.$age]=$(metric "$line" holds/s)
		record "$tag.$age" "$line"
		printf '   %-4s holds/s %6.0f (%s event)   %s   %s   (load %s)\n' "$tag" "${fig[$tag.$age]}" "$age" "$(lat "$tag.$age")" "$(cpu "$tag.$age")" "$(load)"
	done
done
# Conversions (checkout + confirm of a held pair, 32 in flight), with group
# commit and then without it (checkout Config.ConvertBatch 1), back to back.
for tag in this solo; do
	if [[ $tag == solo ]]; then
		line=$(BENCH_CONVERT_BATCH=1 runbench "$tmp/this.test" BenchmarkConvertHTTP "${CONVERTS:-4000}")
	else
		line=$(runbench "$tmp/this.test" BenchmarkConvertHTTP "${CONVERTS:-4000}")
	fi
	fig[$tag.conv]=$(metric "$line" orders/s)
	record "$tag.conv" "$line"
	printf '   %-4s orders/s %6.0f (checkout + confirm)   %s   %s   (load %s)\n' "$tag" "${fig[$tag.conv]}" "$(lat "$tag.conv")" "$(cpu "$tag.conv")" "$(load)"
done
for tag in "${tags[@]}"; do
	line=$(runbench "$tmp/$tag.test" BenchmarkBestHTTP 1 success-%)
	for u in success-% oversold holds/s; do fig[$tag.best.$u]=$(metric "$line" "$u"); done
	fig[$tag.best.load]=$(load)
	printf '   %-4s best available: %.2f%% of requests got seats while seats remained, %d oversold, %.0f holds/s   (load %s)\n' \
		"$tag" "${fig[$tag.best.success-%]}" "${fig[$tag.best.oversold]}" "${fig[$tag.best.holds/s]}" "$(load)"
done
for tag in "${tags[@]}"; do
	line=$(runbench "$tmp/$tag.test" BenchmarkRejectHTTP "${REJECTS:-60000}")
	fig[$tag.rej]=$(metric "$line" rejections/s)
	record "$tag.rej" "$line"
	printf '   %-4s rejections/s %6.0f   %s   %s   (load %s)\n' "$tag" "${fig[$tag.rej]}" "$(lat "$tag.rej")" "$(cpu "$tag.rej")" "$(load)"
done
for tag in "${tags[@]}"; do
	line=$(runbench "$tmp/$tag.test" BenchmarkSnapshotHTTP "${SNAPSHOTS:-20000}")
	fig[$tag.snap]=$(metric "$line" snapshots/s) fig[$tag.snap.bytes]=$(metric "$line" gzip-bytes) fig[$tag.snap.seats]=$(metric "$line" seats)
	record "$tag.snap" "$line"
	printf '   %-4s snapshot of %d seats: %d B gzip, %.0f/s   %s   (load %s)\n' "$tag" "${fig[$tag.snap.seats]}" "${fig[$tag.snap.bytes]}" "${fig[$tag.snap]}" "$(lat "$tag.snap")" "$(load)"
done
for tag in "${tags[@]}"; do
	line=$(runbench "$tmp/$tag.test" BenchmarkJoinHTTP "${JOINS:-15000}")
	fig[$tag.join]=$(metric "$line" joins/s)
	record "$tag.join" "$line"
	printf '   %-4s joins/s %.0f   %s   %s   (load %s)\n' "$tag" "${fig[$tag.join]}" "$(lat "$tag.join")" "$(cpu "$tag.join")" "$(load)"
done

echo "== baselines (2/2)"
base pg "pgbench conditional UPDATE, tps"
base nx "redis-benchmark SET NX (refused), ops/s"

mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }' <<<"$1"; }
pg=$(mean "${fig[pg.runs]}") nx=$(mean "${fig[nx.runs]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { print ((dir == ">=" ? v >= t : v <= t) ? "met" : "not met") }'; }

{
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' + local changes'); machine: $machine."
	echo
	echo "| figure | value | baseline (same run) | ratio | target |"
	echo "|---|---|---|---|---|"
	echo "| pgbench conditional UPDATE, $clients clients, ${secs} s (before; after) | ${fig[pg.runs]/ /; } tps | | | |"
	echo "| redis-benchmark \`SET k v NX\` on $held set keys, $clients clients (before; after) | ${fig[nx.runs]/ /; } ops/s | | | |"
	for tag in "${tags[@]}"; do
		name=$([[ $tag == base ]] && echo " ($BASE_REV)" || echo "")
		for age in settled fresh; do
			r=$(ratio "${fig[$tag.$age]}" "$pg")
			echo "| successful 2-seat holds through HTTP, $age event$name, load ${fig[$tag.$age.load]} | ${fig[$tag.$age]%.*}/s, $(lat "$tag.$age"); $(cpu "$tag.$age") | $pg tps | **$r** | ≥ 0.5: $(met "$r" 0.5 '>='); p99 ≤ 50 ms: $(met "${fig[$tag.$age.p99-ms]}" 50 '<=') |"
		done
		r=$(ratio "${fig[$tag.fresh.pg-cpu-ms/op]}" "${fig[$tag.settled.pg-cpu-ms/op]}")
		echo "| Postgres CPU per hold, fresh event ÷ settled$name | ${fig[$tag.fresh.pg-cpu-ms/op]} ms ÷ ${fig[$tag.settled.pg-cpu-ms/op]} ms | | **$r** | ≤ 1.2: $(met "$r" 1.2 '<=') |"
		if [[ $tag == this ]]; then
			for age in settled fresh; do
				r=$(ratio "${fig[solo.$age]}" "$pg")
				echo "| the same holds without group commit (HoldBatch 1), $age event, load ${fig[solo.$age.load]} | ${fig[solo.$age]%.*}/s, $(lat "solo.$age"); $(cpu "solo.$age") | $pg tps | **$r** | batched ÷ solo: **$(ratio "${fig[this.$age]}" "${fig[solo.$age]}")** holds/s, $(ratio "${fig[this.$age.pg-cpu-ms/op]}" "${fig[solo.$age.pg-cpu-ms/op]}") Postgres CPU per hold |"
			done
		fi
		if [[ $tag == this ]]; then
			echo "| purchases (checkout + confirm of a held pair, 32 in flight), conversions in rounds, load ${fig[this.conv.load]} | ${fig[this.conv]%.*}/s, $(lat this.conv); $(cpu this.conv) | | | |"
			echo "| the same without group commit (ConvertBatch 1), load ${fig[solo.conv.load]} | ${fig[solo.conv]%.*}/s, $(lat solo.conv); $(cpu solo.conv) | | | rounds ÷ solo: **$(ratio "${fig[this.conv]}" "${fig[solo.conv]}")** orders/s, $(ratio "${fig[this.conv.pg-cpu-ms/op]}" "${fig[solo.conv.pg-cpu-ms/op]}") Postgres CPU, $(ratio "${fig[this.conv.pg-queries/op]}" "${fig[solo.conv.pg-queries/op]}") queries per purchase |"
		fi
		echo "| best available, 400 fans × 2 seats, no think time, 2,018-seat theater$name, load ${fig[$tag.best.load]} | ${fig[$tag.best.success-%]}% of requests got seats while seats remained; ${fig[$tag.best.oversold]%.*} oversold; ${fig[$tag.best.holds/s]%.*} holds/s | | | ≥ 99%: $(met "${fig[$tag.best.success-%]}" 99 '>='); oversold 0: $(met "${fig[$tag.best.oversold]}" 0 '<=') |"
		r=$(ratio "${fig[$tag.rej]}" "$nx")
		echo "| contended rejections through HTTP$name, load ${fig[$tag.rej.load]} | ${fig[$tag.rej]%.*}/s, $(lat "$tag.rej"); $(cpu "$tag.rej") | $nx ops/s | **$r** | ≥ 0.25: $(met "$r" 0.25 '>=') |"
		echo "| snapshot of ${fig[$tag.snap.seats]} seats, gzip on the wire$name, load ${fig[$tag.snap.load]} | ${fig[$tag.snap.bytes]} B; $(lat "$tag.snap") from cache (${fig[$tag.snap]%.*}/s) | | | ≤ 16 KB: $(met "${fig[$tag.snap.bytes]}" 16384 '<='); p99 ≤ 5 ms: $(met "${fig[$tag.snap.p99-ms]}" 5 '<=') |"
		echo "| waiting-room joins (challenge + PoW verify + join)$name, load ${fig[$tag.join.load]} | ${fig[$tag.join]%.*}/s, $(lat "$tag.join"); $(cpu "$tag.join") | | | ≥ 5,000/s: $(met "${fig[$tag.join]}" 5000 '>=') |"
	done
	echo
	echo "Load average during the baselines: pgbench ${fig[pg.loads]}; redis-benchmark ${fig[nx.loads]}."
} >"$tmp/table.md"
mkdir -p "$(dirname "$out")"
cp "$tmp/table.md" "$out"
echo "== results (also in $out)"
cat "$out"
