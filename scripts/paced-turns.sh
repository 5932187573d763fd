#!/usr/bin/env bash
# Paced runs of two or more builds in turn (docs/performance.md, "Tenth
# sitting"), so that they share the machine's moment: for each build in
# turn, a fresh private Redis (port 6390) or a fresh data file, people
# seeded and linked, then RUNS paced runs of 2,500 people each, every reply
# waited for; one line a run: answered and delivered latencies.
#
# Usage: scripts/paced-turns.sh OUTDIR BINDIR... (each BINDIR holds a
# waymark and a waymark-load built from the commit to measure).
# RATE (2000), RUNS (3), TURNS (2), STORE (redis or bolt), EXTRA (more
# flags for `waymark-load run`, e.g. "-provider-latency 150ms").
set -uo pipefail
out=${1:?outdir}; shift
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR BINDIR..." >&2; exit 2; }
rate=${RATE:-2000} runs=${RUNS:-3} turns=${TURNS:-2} store=${STORE:-redis} extra=${EXTRA:-}
mkdir -p "$out"

trial() { # BINDIR DIR
  local bin=$1 dir=$2
  mkdir -p "$dir"
  redis-cli -p 6390 shutdown nosave >/dev/null 2>&1
  sleep 0.5
  {
    echo "WAYMARK_ADDR=127.0.0.1:8080"
    echo "WAYMARK_PUBLIC_URL=http://127.0.0.1:8080"
    echo "WAYMARK_SECRET_KEY=$("$bin/waymark" keygen 2>/dev/null | tail -1)"
    echo "WAYMARK_TWILIO_ACCOUNT_SID=ACload0123456789"
    echo "WAYMARK_TWILIO_AUTH_TOKEN=loadtoken0123456789"
    echo "WAYMARK_TWILIO_FROM=+15005550006"
    echo "WAYMARK_TWILIO_API_URL=http://127.0.0.1:9101"
    echo "WAYMARK_TWILIO_MPS=100000"
    echo "WAYMARK_TELEGRAM_TOKEN=123456:loadtoken"
    echo "WAYMARK_TELEGRAM_API_URL=http://127.0.0.1:9102"
    echo "WAYMARK_TELEGRAM_WEBHOOK_SECRET=loadsecret"
    echo "WAYMARK_SIMULATOR=false"
    echo "WAYMARK_LOG_LEVEL=warn"
    echo "WAYMARK_DATA_DIR=$dir/data"
    if [ "$store" = redis ]; then
      echo "WAYMARK_REDIS_URL=redis://127.0.0.1:6390/0"
      echo "WAYMARK_REDIS_PREFIX=perf:"
    fi
  } >"$dir/load.env"
  if [ "$store" = redis ]; then
    # deploy/redis.conf's listpack limits, as production runs them
    redis-server --port 6390 --save '' --appendonly no --daemonize yes \
      --zset-max-listpack-entries 1024 --zset-max-listpack-value 128 --hash-max-listpack-value 1024 >/dev/null
    sleep 0.5
  fi
  (
    cd "$dir" || exit 1
    set -a; . ./load.env; set +a
    "$bin/waymark-load" seed -n $((runs * 2500)) -out people.jsonl >seed.log 2>&1
    "$bin/waymark" serve >serve.log 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && break; sleep 0.2; done
    "$bin/waymark-load" run -people people.jsonl -link -duration 0 -drain 15m >link.log 2>&1
    for r in $(seq 0 $((runs - 1))); do
      sleep 5
      # shellcheck disable=SC2086 # EXTRA is flags
      "$bin/waymark-load" run -people people.jsonl -from $((r * 2500)) -count 2500 \
        -rate "$rate" -duration 10s -conns 256 $extra -json >"run$r.json" 2>"run$r.err"
      python3 - "run$r.json" "$bin" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a, x = d["answered"], d["delivered"]
print("%s  answered p99 %.0f ms | delivered p50 %.0f p99 %.0f max %.0f ms | missing %s" % (
    sys.argv[2], a["p99_ms"], x["p50_ms"], x["p99_ms"], x["max_ms"], d.get("replies_missing")))
PY
    done
    kill $pid; wait $pid 2>/dev/null
  )
  redis-cli -p 6390 shutdown nosave >/dev/null 2>&1
}

for t in $(seq "$turns"); do
  for bin in "$@"; do
    trial "$(cd "$bin" && pwd)" "$out/turn$t-$(basename "$bin")"
  done
done
