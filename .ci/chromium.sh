# .ci/chromium.sh: makes sure Debian's Chromium is installed for the browser
# tests (internal/web/browser_test.go). Sourced by .ci/test.sh.
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: installing the chromium package for the browser tests" >&2
  _wm_sudo=""
  [ "$(id -u)" -ne 0 ] && _wm_sudo="sudo"
  $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
