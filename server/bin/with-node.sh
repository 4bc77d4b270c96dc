#!/bin/sh
# Runs a command with kubedojo's pinned Node.js first on PATH. On first use it installs that
# Node.js from the npm registry (the only place these machines can download from) into the
# user's cache, and (re)installs the project's npm dependencies whenever package-lock.json
# changes, compiling native addons against the pinned Node's own headers.
set -eu

NODE_VERSION=24.21.0

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubedojo
nodedir=$cache/node/v$NODE_VERSION

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "kubedojo: no Node.js build for $(uname -m); install Node.js $NODE_VERSION and put it first on PATH" >&2; exit 2 ;;
esac

if [ ! -x "$nodedir/bin/node" ]; then
  command -v npm >/dev/null 2>&1 || { echo "kubedojo: npm is needed once to fetch Node.js $NODE_VERSION; install Node.js 20+ with npm" >&2; exit 2; }
  echo "kubedojo: installing Node.js $NODE_VERSION from the npm registry into $nodedir (once)" >&2
  mkdir -p "$cache/node"
  tmp=$(mktemp -d "$cache/node/.download.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-$arch@$NODE_VERSION" --silent >/dev/null)
  tar xzf "$tmp"/node-linux-"$arch"-"$NODE_VERSION".tgz -C "$tmp"
  "$tmp/package/bin/node" -e 'process.exit(0)' || { echo "kubedojo: the downloaded Node.js does not run on this machine" >&2; exit 2; }
  # A rename is atomic, so an interrupted download never leaves a half-installed Node behind.
  mv "$tmp/package" "$nodedir"
fi

PATH=$nodedir/bin:$PATH
# node-gyp builds better-sqlite3 and node-pty against these headers instead of downloading them.
npm_config_nodedir=$nodedir
export PATH npm_config_nodedir

stamp=$root/node_modules/.kubedojo-installed
want="$(sha256sum "$root/package-lock.json" | cut -c1-64) node-$NODE_VERSION"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "kubedojo: installing npm dependencies (npm ci)" >&2
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$want" > "$stamp"
fi

exec "$@"
