# .ci/redis-cluster.sh start|stop|env: a three-master Redis Cluster on
# loopback ports 7101-7103, for the cluster test of the Redis store. Source
# it so that start can export the addresses:
#
#     . .ci/redis-cluster.sh start   # exports WAYMARK_TEST_REDIS_CLUSTER_ADDRS
#     go test -race ./internal/store/redis/... -run TestCluster
#     . .ci/redis-cluster.sh stop
#
# Run as a command, start (and env, which starts nothing) prints the export
# line instead, for eval "$(bash .ci/redis-cluster.sh env)". Both are
# idempotent: start reuses a healthy cluster on those ports and otherwise
# builds a fresh one in its own folder; stop ends only the servers whose pid
# files it wrote and removes the folder. Installs redis-server if missing.

WAYMARK_CLUSTER_PORTS="7101 7102 7103"
WAYMARK_CLUSTER_DIR="${TMPDIR:-/tmp}/waymark-redis-cluster"

_wm_cluster_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  echo "redis-cluster: installing the redis-server package" >&2
  _wm_sudo=""
  [ "$(id -u)" -ne 0 ] && _wm_sudo="sudo"
  $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

_wm_cluster_ok() {
  for _wm_p in $WAYMARK_CLUSTER_PORTS; do
    redis-cli -h 127.0.0.1 -p "$_wm_p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

_wm_cluster_addrs() {
  _wm_a=""
  for _wm_p in $WAYMARK_CLUSTER_PORTS; do
    _wm_a="${_wm_a:+$_wm_a,}127.0.0.1:$_wm_p"
  done
  echo "$_wm_a"
}

_wm_cluster_stop() {
  for _wm_p in $WAYMARK_CLUSTER_PORTS; do
    _wm_pidfile="$WAYMARK_CLUSTER_DIR/$_wm_p/redis.pid"
    if [ -f "$_wm_pidfile" ]; then
      _wm_pid="$(cat "$_wm_pidfile")"
      if [ -n "$_wm_pid" ] && kill "$_wm_pid" 2>/dev/null; then
        _wm_i=0
        while kill -0 "$_wm_pid" 2>/dev/null && [ "$_wm_i" -lt 50 ]; do
          sleep 0.1
          _wm_i=$((_wm_i + 1))
        done
      fi
    fi
  done
  rm -rf "$WAYMARK_CLUSTER_DIR"
}

_wm_cluster_start() {
  _wm_cluster_install || { echo "redis-cluster: could not install redis-server" >&2; return 1; }
  if _wm_cluster_ok; then
    return 0
  fi
  _wm_cluster_stop
  _wm_nodes=""
  for _wm_p in $WAYMARK_CLUSTER_PORTS; do
    if redis-cli -h 127.0.0.1 -p "$_wm_p" ping >/dev/null 2>&1; then
      echo "redis-cluster: port $_wm_p is taken by a server this script did not start" >&2
      return 1
    fi
    _wm_d="$WAYMARK_CLUSTER_DIR/$_wm_p"
    mkdir -p "$_wm_d" || return 1
    redis-server --port "$_wm_p" --bind 127.0.0.1 --daemonize yes \
      --dir "$_wm_d" --pidfile "$_wm_d/redis.pid" --logfile "$_wm_d/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --save "" --appendonly no || return 1
    _wm_nodes="$_wm_nodes 127.0.0.1:$_wm_p"
  done
  for _wm_p in $WAYMARK_CLUSTER_PORTS; do
    _wm_i=0
    until redis-cli -h 127.0.0.1 -p "$_wm_p" ping >/dev/null 2>&1; do
      _wm_i=$((_wm_i + 1))
      [ "$_wm_i" -ge 100 ] && { echo "redis-cluster: node $_wm_p does not answer" >&2; return 1; }
      sleep 0.1
    done
  done
  # shellcheck disable=SC2086 # the node list is meant to split
  redis-cli --cluster create $_wm_nodes --cluster-replicas 0 --cluster-yes \
    >"$WAYMARK_CLUSTER_DIR/create.log" 2>&1 </dev/null ||
    { echo "redis-cluster: cluster create failed; see $WAYMARK_CLUSTER_DIR/create.log" >&2; return 1; }
  _wm_i=0
  until _wm_cluster_ok; do
    _wm_i=$((_wm_i + 1))
    [ "$_wm_i" -ge 200 ] && { echo "redis-cluster: cluster_state is not ok after 20s" >&2; return 1; }
    sleep 0.1
  done
}

case "${1:-}" in
start)
  if _wm_cluster_start; then
    export WAYMARK_TEST_REDIS_CLUSTER_ADDRS="$(_wm_cluster_addrs)"
    (return 0 2>/dev/null) || echo "export WAYMARK_TEST_REDIS_CLUSTER_ADDRS=$WAYMARK_TEST_REDIS_CLUSTER_ADDRS"
  else
    return 1 2>/dev/null || exit 1
  fi
  ;;
env)
  if _wm_cluster_ok; then
    echo "export WAYMARK_TEST_REDIS_CLUSTER_ADDRS=$(_wm_cluster_addrs)"
  else
    echo "redis-cluster: no healthy cluster on ports $WAYMARK_CLUSTER_PORTS; run start first" >&2
    return 1 2>/dev/null || exit 1
  fi
  ;;
stop)
  _wm_cluster_stop
  unset WAYMARK_TEST_REDIS_CLUSTER_ADDRS
  ;;
*)
  echo "usage: . .ci/redis-cluster.sh start|stop|env" >&2
  return 2 2>/dev/null || exit 2
  ;;
esac
