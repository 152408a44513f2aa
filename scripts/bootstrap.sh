# shellcheck shell=bash
# Sourced by scripts/dev and scripts/test. Gives a machine that has only git,
# Node 20 and npm everything the repo needs, and is a no-op the second time:
#   - Node 22 from the registry package node-<os>-<arch> (unless node >= 22 is
#     already on PATH), installed under .tools/;
#   - yarn, from the release committed under .yarn/releases;
#   - dependencies and native modules (node-gyp builds against the Node 22
#     headers shipped in that package, so nothing is downloaded from elsewhere).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO_ROOT/.tools"
NODE_MAJOR=22

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unsupported ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; arm64 | aarch64) arch=arm64 ;; *) arch=unsupported ;; esac
  local pkg="node-$os-$arch"
  local bin="$TOOLS/node_modules/$pkg/bin"
  if [ -x "$bin/node" ]; then
    export PATH="$bin:$PATH"
  elif [ "$(node_major)" -lt "$NODE_MAJOR" ]; then
    log "installing Node $NODE_MAJOR ($pkg) into .tools/ (once)"
    npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error "$pkg@$NODE_MAJOR" >&2
    export PATH="$bin:$PATH"
  fi
  if [ -d "$TOOLS/node_modules/$pkg/include/node" ]; then
    # node-gyp would otherwise download headers, which fails offline.
    export npm_config_nodedir="$TOOLS/node_modules/$pkg"
  fi
  if [ "$(node_major)" -lt "$NODE_MAJOR" ]; then
    log "Node $NODE_MAJOR is required and could not be installed (have $(node -v))"
    exit 1
  fi
}

ensure_yarn() {
  local release
  release="$(ls "$REPO_ROOT"/.yarn/releases/yarn-*.cjs | head -n 1)"
  mkdir -p "$TOOLS/bin"
  # Pin the Node that bootstrap chose, so native modules match it.
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$(command -v node)" "$release" >"$TOOLS/bin/yarn"
  chmod +x "$TOOLS/bin/yarn"
  export PATH="$TOOLS/bin:$PATH"
}

ensure_dependencies() {
  local stamp="$REPO_ROOT/node_modules/.bootstrap-stamp"
  local want
  want="$(cat "$REPO_ROOT/yarn.lock" "$REPO_ROOT"/package.json "$REPO_ROOT"/packages/*/package.json "$REPO_ROOT"/plugins/*/package.json | cksum)-$(node -v)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return
  fi
  log "installing dependencies with yarn (first run takes a few minutes)"
  (cd "$REPO_ROOT" && yarn install --immutable)
  echo "$want" >"$stamp"
}

ensure_node
ensure_yarn
if [ "${BOOTSTRAP_SKIP_INSTALL:-}" != "1" ]; then
  ensure_dependencies
fi
cd "$REPO_ROOT"
