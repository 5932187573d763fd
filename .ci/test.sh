#!/usr/bin/env bash
# The README's test command (make test): start what the tests need, then
# vet and test everything with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

# Single Redis on 127.0.0.1:6379 (installed and started if missing); exports
# WAYMARK_TEST_REDIS_URL.
source .ci/redis.sh
# A throwaway 3-master Redis Cluster on loopback; exports
# WAYMARK_TEST_REDIS_CLUSTER_ADDRS. Stopped on exit.
bash .ci/redis-cluster.sh start
eval "$(bash .ci/redis-cluster.sh env)"
trap 'bash .ci/redis-cluster.sh stop' EXIT

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt: these files are not formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 -timeout 30m ./...
(cd tools/deploycheck && go vet ./... && go test -race -count=1 -timeout 15m ./...)  # deploy/ checked offline, in its own module
