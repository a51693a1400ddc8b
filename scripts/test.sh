#!/usr/bin/env bash
# `npm test`: the whole suite against real services.
# Each service whose variable is unset (DATABASE_URL, REDIS_URL, KAFKA_BROKERS, STRIPE_API_BASE,
# ARCHIVE_S3_ENDPOINT) is installed (once) and started locally by scripts/services.sh, and its
# variable pointed at it; set a variable to test against your own instead. HAProxy for the edge's
# tests is installed the same way unless HAPROXY_BIN names one. Extra arguments go to jest
# (e.g. `npm test -- test/config`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-lts.sh

wanted=()
[[ -n "${DATABASE_URL:-}" ]] || wanted+=(postgres)
[[ -n "${REDIS_URL:-}" ]] || wanted+=(redis)
[[ -n "${KAFKA_BROKERS:-}" ]] || wanted+=(kafka)
[[ -n "${STRIPE_API_BASE:-}" ]] || wanted+=(stripe-mock)
[[ -n "${ARCHIVE_S3_ENDPOINT:-}" ]] || wanted+=(s3)
[[ -n "${HAPROXY_BIN:-}" ]] || wanted+=(edge)
if ((${#wanted[@]})); then
  bash scripts/services.sh up "${wanted[@]}"
  while read -r line; do
    # comments (a running Redis Cluster is named in one, not exported) are not settings
    [[ $line == export\ * ]] || continue
    name=${line#export }
    name=${name%%=*}
    # only the variables the caller did not set; tracing stays off even while a local Jaeger
    # (`services.sh up jaeger`) runs and `env` prints OTEL_EXPORTER_OTLP_ENDPOINT
    [[ $name != OTEL_* ]] || continue
    [[ -n "${!name:-}" ]] || eval "$line"
  done < <(bash scripts/services.sh env)
fi

# Debian's chromium for the developer portal's browser tests (test/portal, driven by
# playwright-core); installed once, `apt-get update` only when apt does not know the package.
# Playwright never downloads a browser of its own. CHROMIUM_PATH points the tests at another one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ -z "${CHROMIUM_PATH:-}" && ! -x /usr/bin/chromium ]]; then
  sudo_=()
  [[ $EUID -eq 0 ]] || sudo_=(sudo)
  if [[ $(apt-cache policy chromium 2>/dev/null) != *"Candidate: "[0-9]* ]]; then
    echo "[test] apt-get update (for chromium)" >&2
    "${sudo_[@]}" apt-get update -qq >&2
  fi
  echo "[test] apt-get install chromium" >&2
  "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 chromium >&2
fi

# Formatting and lint first: seconds, and a failure says exactly where.
npx biome ci --colors=off .
npm run build --silent
npx tsc -p tsconfig.json --noEmit
# PGlite (embedded Postgres) is an ES module loaded with import(); jest needs this flag for that
# (and Node's notice that the flag is experimental is said once here, not by every test worker).
NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning ${NODE_OPTIONS:-}" npx jest "$@"
