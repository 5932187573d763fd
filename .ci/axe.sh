# .ci/axe.sh: makes sure axe-core (from the npm registry) is installed for
# the browser tests' accessibility checks, outside the repository, and
# exports WAYMARK_AXE_PATH, the axe.min.js the tests inject into every
# page. Sourced by .ci/test.sh. Needs Node's npm.
_wm_axe_dir="${WAYMARK_AXE_DIR:-$HOME/.cache/waymark-axe}"
_wm_axe_js="$_wm_axe_dir/node_modules/axe-core/axe.min.js"
if [ ! -f "$_wm_axe_js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "axe: installing npm for axe-core" >&2
    _wm_sudo=""
    [ "$(id -u)" -ne 0 ] && _wm_sudo="sudo"
    $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $_wm_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  echo "axe: installing axe-core 4 into $_wm_axe_dir" >&2
  npm install --silent --no-audit --no-fund --prefix "$_wm_axe_dir" axe-core@4 >&2
fi
export WAYMARK_AXE_PATH="$_wm_axe_js"
