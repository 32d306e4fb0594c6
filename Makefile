# Developer commands. CI runs .ci/run, which is `make lint` then `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

# Local defaults; keep in sync with scripts/services.sh. The script checks the
# URLs it is given and prints the ones to use (falling back to these).
DATABASE_URL ?= postgres://boxoffice:boxoffice@127.0.0.1:5432/boxoffice?sslmode=disable
REDIS_URL ?= redis://127.0.0.1:6379/0
export DATABASE_URL REDIS_URL

# SERVICES starts Postgres and Redis (installing them if needed) and loads the
# URLs that scripts/services.sh prints into the recipe's shell. The assignment
# comes first so that a failing script stops the recipe.
SERVICES = services_env="$$(bash scripts/services.sh)"; eval "$$services_env"

# PEERS installs (once) and starts the test peers, stripe-mock and mailpit,
# and loads their URLs (STRIPE_MOCK_URL, MAILPIT_URL, MAILPIT_SMTP_URL).
PEERS = peers_env="$$(bash scripts/testpeers.sh)"; eval "$$peers_env"

.PHONY: services build run test check-deploy k6-check cluster cluster-check lint bench bench-fanout bench-flashsale chaos

services:
	@bash scripts/services.sh

build:
	go build -o bin/boxoffice ./cmd/boxoffice

run:
	@$(SERVICES); \
	go run ./cmd/boxoffice migrate; \
	go run ./cmd/boxoffice seed demo; \
	exec go run ./cmd/boxoffice serve

test: check-deploy k6-check
	@$(SERVICES); $(PEERS); \
	bash scripts/browser.sh; \
	go test -race -count=1 -timeout 20m ./...
	@# The browser tests in web/test need the server that TestBrowser (go
	@# test, above) starts for them; here only the pure module tests run.
	node --test web/test/seatsync.test.mjs

# The k6 scripts (loadtest/k6; k6 itself is not installed): type-checked
# with tsc against k6's published types (@types/k6 and typescript pinned by
# loadtest/k6/package-lock.json), and the Node harness's own tests. The
# scripts themselves run under the harness against the real app in go test
# (TestLoadScenarios). What the harness does and does not do like k6:
# loadtest/k6/README.md.
k6-check:
	@stamp=loadtest/k6/node_modules/.package-lock.json; \
	if [[ ! -f $$stamp || loadtest/k6/package-lock.json -nt $$stamp ]]; then \
		npm ci --prefix loadtest/k6 --no-audit --no-fund --loglevel=error >&2; \
	fi
	cd loadtest/k6 && node_modules/.bin/tsc -p jsconfig.json
	node --test loadtest/k6/harness/

# The deployment files, checked without a Docker engine (none runs here;
# docs/operations.md, "Scale-out"): docker-compose.yml parses with Debian's
# docker-compose 1.x (installed if missing) and loads with compose-go, the
# library of `docker compose` v2, declaring three app replicas, with and
# without the monitoring profile (Prometheus and Grafana, every bind-mounted
# file present); and deploy/nginx.conf passes nginx -t once adapted to
# loopback.
# The compose file requires SECRET_KEY (no default secret); a placeholder
# lets it load here.
check-deploy: export SECRET_KEY = check-deploy-placeholder
check-deploy:
	@bash scripts/services.sh need docker-compose=docker-compose
	docker-compose -f docker-compose.yml config -q
	docker-compose -f docker-compose.yml --profile monitoring config -q
	cd deploy/composecheck && go run . ../../docker-compose.yml app=3
	cd deploy/composecheck && COMPOSE_PROFILES=monitoring go run . ../../docker-compose.yml app=3 prometheus grafana
	@bash scripts/cluster.sh nginx-check

# docker-compose.yml's topology on loopback without Docker: a three-master
# Redis Cluster, three app nodes and nginx on http://127.0.0.1:8090 (ports
# and knobs: scripts/cluster.sh --help). Ctrl-C stops it all.
cluster:
	@bash scripts/cluster.sh run

# The same topology, started, checked (a hold on each node reaches a socket
# opened through nginx: TestClusterThroughNginx) and stopped.
cluster-check:
	@bash scripts/cluster.sh check

# Fault drills, long versions (not part of make test; several minutes):
# longer sales with repeated faults (nodes killed and restarted, Redis and a
# private Postgres stopped and started, a node paused past the hold TTL),
# the hard rule checked in Postgres after each. The short versions of the
# same tests run in make test. Figures in docs/faults.md.
chaos:
	@$(SERVICES); \
	CHAOS=long go test -race -count=1 -timeout 30m -v -run '^TestDrill' ./cmd/boxoffice

# golangci-lint v2 with the checked-in .golangci.yml (errcheck, govet,
# staticcheck, gofmt, and depguard: only server imports Fiber, realtime
# imports no domain package); the pinned version installs once
# (scripts/lint.sh).
lint:
	@bash scripts/lint.sh

# The HTTP figures next to baselines measured in the same run, as ratios:
# holds/s vs pgbench's conditional UPDATE, contended rejections/s vs
# redis-benchmark SET NX, the snapshot's size and latency, waiting-room
# joins/s. A few minutes; figures in docs/benchmarks.md. Knobs in the
# script's header (BASE_REV=rev adds that revision's hold figures).
bench:
	@bash scripts/bench.sh

# WebSocket fan-out on one node beside Centrifugo (not part of make test;
# a few minutes, plus a few more the first time to build Centrifugo): for
# each of SOCKETS a Boxoffice server, then a Centrifugo server, each driven
# by the same client process (same socket count, 10 Hz, ~200-byte seat
# diffs), then the ratios. Figures in docs/benchmarks.md. Knobs: SOCKETS
# [5000,10000], DURATION [10s], CENTRIFUGO_BIN [bin/centrifugo; empty: Boxoffice
# alone].
CENTRIFUGO_VERSION := v6.9.1
SOCKETS ?= 5000,10000
DURATION ?= 10s
CENTRIFUGO_BIN ?= bin/centrifugo
bench-fanout: build
	@$(SERVICES); \
	if [ -n "$(CENTRIFUGO_BIN)" ] && [ ! -x "$(CENTRIFUGO_BIN)" ]; then \
		echo "installing Centrifugo $(CENTRIFUGO_VERSION) into bin/ (a few minutes)"; \
		GOBIN="$(CURDIR)/bin" go install github.com/centrifugal/centrifugo/v6@$(CENTRIFUGO_VERSION) || exit 1; \
	fi; \
	ulimit -n 65536 2>/dev/null || ulimit -n "$$(ulimit -Hn)"; \
	go build -o bin/fanoutbench ./loadtest/fanoutbench && \
	bin/fanoutbench -bin bin/boxoffice -centrifugo "$(CENTRIFUGO_BIN)" -sockets $(SOCKETS) -duration $(DURATION)

# A flash sale of the demo stadium (about 49,000 seats) on this machine: a
# fresh database, one server with RATE_LIMITS=off, FANS seeded fans through
# the waiting room and WATCHERS sockets, invariants checked in Postgres.
# Two to three minutes; figures in docs/benchmarks.md. Knobs: FANS [20000],
# WATCHERS [1000], ROOM [on], DURATION [150s], CONCURRENCY [256], NODES [1]
# (app nodes on the one database and Redis; the fans are spread over them),
# FLOOR [unset; set: the demo arena with its standing floor instead].
bench-flashsale:
	@bash scripts/bench-flashsale.sh
