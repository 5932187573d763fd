# .ci/redis.sh: makes sure a Redis answers on 127.0.0.1:6379 for the tests
# and exports WAYMARK_TEST_REDIS_URL. Meant to be sourced, by .ci/run and by
# `make test`:
#
#     . .ci/redis.sh
#
# If nothing answers, it installs the Debian package redis-server when the
# binary is missing and starts a throwaway server on loopback: no
# persistence, nothing written to disk. A Redis that already answers is
# used as it is; the tests keep to their own key prefixes and never flush.

waymark_redis_ping() {
  [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
}

waymark_redis_install() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  echo "redis: installing the redis-server package" >&2
  _wm_sudo=""
  [ "$(id -u)" -ne 0 ] && _wm_sudo="sudo"
  $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

waymark_redis_start() {
  waymark_redis_ping 6379 && return 0
  waymark_redis_install || { echo "redis: could not install redis-server" >&2; return 1; }
  # The package's own service may have started one.
  waymark_redis_ping 6379 && return 0
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" >/dev/null || return 1
  _wm_i=0
  while [ "$_wm_i" -lt 100 ]; do
    waymark_redis_ping 6379 && return 0
    sleep 0.1
    _wm_i=$((_wm_i + 1))
  done
  echo "redis: the server started but does not answer on 127.0.0.1:6379" >&2
  return 1
}

if waymark_redis_start; then
  export WAYMARK_TEST_REDIS_URL=redis://127.0.0.1:6379/0
else
  return 1 2>/dev/null || exit 1
fi
