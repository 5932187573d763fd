#!/usr/bin/env bash
# The README's test command (make test): start what the tests need, then
# vet and test everything with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium for the browser tests (installed if missing).
source .ci/chromium.sh
# axe-core for the browser tests' accessibility checks (installed from npm
# if missing, outside the repository); exports WAYMARK_AXE_PATH.
source .ci/axe.sh
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
(cd deploy/check && go vet ./... && go test -race -count=1 -timeout 15m ./...)  # deploy/ checked offline, in its own module

# --- Fuzzing --------------------------------------------------------------------
# Every fuzz target in the module (func Fuzz... in a _test.go file) runs for
# WAYMARK_FUZZTIME inputs each (50000x by default: a few seconds to forty
# on two cores), after the tests above have replayed its committed corpus in
# testdata/fuzz/<Target>/. A count, not a duration: Go 1.26's fuzzer can
# report "context deadline exceeded" as a failure when a duration runs out
# while a worker is busy (go.dev/issue/75804, fixed in Go 1.27), and a count
# has no deadline. A failure writes the input there: fix the bug and commit
# the file as a regression case. (deploy/ is a module of its own, checked by
# its own tests.) Set WAYMARK_FUZZTIME=1000000x for a longer look; the
# default keeps make test under ten minutes on two cores.
fuzztime="${WAYMARK_FUZZTIME:-50000x}"
grep -rEo --include='*_test.go' --exclude-dir=deploy --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*' . |
  sed 's/func //' | sort |
  while IFS=: read -r file target; do
    echo "fuzz: $target in $(dirname "$file") for $fuzztime"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime="$fuzztime" "$(dirname "$file")"
  done
