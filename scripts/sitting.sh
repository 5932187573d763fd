#!/usr/bin/env bash
# One measuring sitting over HTTP (docs/performance.md, "Against the
# targets"): the `ok` ceiling, then Redis (with deploy/redis.conf's
# listpack limits) and bolt flat out and paced, SIT_RUNS (5) runs of each,
# every run on a slice of people of its own, every reply waited for.
# Needs redis-server and curl. Usage: scripts/sitting.sh OUTDIR [ceiling] [redis] [bolt]
# SIT_N, SIT_RUNS, SIT_COUNT, SIT_DUR, SIT_PDUR make a smaller sitting.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?outdir}; shift
mkdir -p "$out"
go build -o bin/waymark-load ./cmd/waymark-load
go build -o bin/waymark ./cmd/waymark
key=$(bin/waymark keygen 2>/dev/null | tail -1)
common() {
  cat <<ENV
WAYMARK_ADDR=127.0.0.1:8080
WAYMARK_PUBLIC_URL=http://127.0.0.1:8080
WAYMARK_SECRET_KEY=$key
WAYMARK_TWILIO_ACCOUNT_SID=ACload0123456789
WAYMARK_TWILIO_AUTH_TOKEN=loadtoken0123456789
WAYMARK_TWILIO_FROM=+15005550006
WAYMARK_TWILIO_API_URL=http://127.0.0.1:9101
WAYMARK_TWILIO_MPS=100000
WAYMARK_TELEGRAM_TOKEN=123456:loadtoken
WAYMARK_TELEGRAM_API_URL=http://127.0.0.1:9102
WAYMARK_TELEGRAM_WEBHOOK_SECRET=loadsecret
WAYMARK_SIMULATOR=false
WAYMARK_LOG_LEVEL=warn
ENV
}
serve_and_measure() { # name
  local name=$1 n=$2 runs=$3 paced=$4
  bin/waymark-load seed -n "$n" -out "$out/$name-people.jsonl" >/dev/null
  bin/waymark serve > "$out/$name-serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -fs http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break; sleep 0.2; done
  bin/waymark-load run -people "$out/$name-people.jsonl" -link -duration 0 -drain 15m > "$out/$name-link.txt" 2>&1
  local from=0
  for i in $(seq "$runs"); do
    echo "== $name flat $i $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/$name.txt"
    bin/waymark-load run -people "$out/$name-people.jsonl" -from $from -count ${SIT_COUNT:-1200} -duration ${SIT_DUR:-15s} -conns 64 -drain 2m -pid $pid >> "$out/$name.txt" 2>&1
    from=$((from+${SIT_COUNT:-1200}))
  done
  for i in $(seq "$runs"); do
    echo "== $name paced $paced $i $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/$name.txt"
    bin/waymark-load run -people "$out/$name-people.jsonl" -from $from -count ${SIT_COUNT:-1200} -rate "$paced" -duration ${SIT_PDUR:-5s} -conns 256 -drain 2m -pid $pid >> "$out/$name.txt" 2>&1
    from=$((from+${SIT_COUNT:-1200}))
  done
  kill $pid; wait $pid || true
}
for what in "$@"; do
  case $what in
  ceiling)
    for i in $(seq ${SIT_RUNS:-5}); do echo "== ceiling $i $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/ceiling.txt"; bin/waymark-load run -ceiling -n 20000 -duration 15s -conns 64 >> "$out/ceiling.txt" 2>&1; done ;;
  redis)
    redis-server --port 6390 --save '' --appendonly yes --appendfsync everysec --dir "$out" --daemonize yes --logfile "$out/redis.log" \
      --zset-max-listpack-entries 1024 --zset-max-listpack-value 128 --hash-max-listpack-value 1024
    sleep 0.5
    set -a; eval "$(common)"; WAYMARK_REDIS_URL=redis://127.0.0.1:6390/0; WAYMARK_REDIS_PREFIX=perf:; set +a
    serve_and_measure redis ${SIT_N:-14000} ${SIT_RUNS:-5} 2000
    redis-cli -p 6390 shutdown nosave || true
    unset WAYMARK_REDIS_URL WAYMARK_REDIS_PREFIX ;;
  bolt)
    set -a; eval "$(common)"; WAYMARK_DATA_DIR=$out/boltdata; set +a
    mkdir -p "$WAYMARK_DATA_DIR"
    serve_and_measure bolt ${SIT_N:-14000} ${SIT_RUNS:-5} 1000 ;;
  esac
done
