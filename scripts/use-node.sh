# Source this file (`. scripts/use-node.sh`) to run the project on the Node.js it declares.
#
# The project runs on Node.js 24 LTS (.node-version pins the exact release CI and the container
# use). If the `node` on PATH is already that major, it is used as it is. Otherwise the official
# build of the pinned release is taken from the npm registry (the `node-linux-<arch>` package: the
# binary and its C++ headers), unpacked once into a cache folder, and put first on PATH, with
# npm_config_nodedir pointing node-gyp at its headers so native modules (better-sqlite3) compile
# against the Node that will load them. Nothing is installed system-wide.
#
# GL_NODE_FORCE=1 uses the pinned release even when a Node 24 is already on PATH.

_gl_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_gl_version="$(tr -d ' \n\r' <"$_gl_root/.node-version")"
_gl_major="${_gl_version%%.*}"
_gl_have="$(node -p 'process.versions.node' 2>/dev/null || true)"

if [ "${GL_NODE_FORCE:-0}" != "1" ] && [ "${_gl_have%%.*}" = "$_gl_major" ]; then
  _gl_prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$_gl_prefix/include/node/node.h" ]; then export npm_config_nodedir="$_gl_prefix"; fi
else
  case "$(uname -m)" in
    x86_64 | amd64) _gl_arch=x64 ;;
    aarch64 | arm64) _gl_arch=arm64 ;;
    *) echo "use-node: no official Node build for $(uname -m)" >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  _gl_home="${GL_NODE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/gradient-lab/node-v$_gl_version-linux-$_gl_arch}"
  if [ ! -x "$_gl_home/bin/node" ]; then
    echo "use-node: installing Node.js $_gl_version (npm package node-linux-$_gl_arch) into $_gl_home" >&2
    _gl_tmp="$(mktemp -d)"
    (cd "$_gl_tmp" && npm pack --silent "node-linux-$_gl_arch@$_gl_version" >/dev/null) &&
      mkdir -p "$_gl_home" &&
      tar -xzf "$_gl_tmp"/node-linux-*.tgz -C "$_gl_home" --strip-components=1
    _gl_status=$?
    rm -rf "$_gl_tmp"
    if [ "$_gl_status" -ne 0 ] || [ ! -x "$_gl_home/bin/node" ]; then
      echo "use-node: could not install Node.js $_gl_version" >&2
      return 1 2>/dev/null || exit 1
    fi
  fi
  export PATH="$_gl_home/bin:$PATH"
  export npm_config_nodedir="$_gl_home"
  hash -r 2>/dev/null || true
fi
echo "use-node: $(command -v node) $(node -v)" >&2
unset _gl_root _gl_version _gl_major _gl_have _gl_prefix _gl_arch _gl_home _gl_tmp _gl_status
