#!/usr/bin/env bash
# lint.sh runs golangci-lint (.golangci.yml: errcheck, govet, staticcheck,
# depguard, gofmt) over the module. The pinned version is `go install`ed once
# into $BOXOFFICE_TOOLS (default ~/.cache/boxoffice/tools), built by this
# machine's Go so it understands the go.mod's language version.
#
# Usage: scripts/lint.sh [golangci-lint run flags...]
set -euo pipefail

readonly VERSION=v2.15.0
readonly TOOLS=${BOXOFFICE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/boxoffice/tools}
readonly DIR=$TOOLS/golangci-lint-$VERSION

cd "$(dirname "$0")/.."
if [[ ! -x $DIR/golangci-lint ]]; then
	echo "lint: go install golangci-lint $VERSION (once, into $DIR)" >&2
	mkdir -p "$DIR"
	GOBIN=$DIR GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$VERSION" >&2
fi
exec "$DIR/golangci-lint" run "$@" ./...
