#!/usr/bin/env bash
# `npm test`: the whole suite against real services.
# With none of DATABASE_URL / REDIS_URL / KAFKA_BROKERS set, it installs (once) and starts local
# PostgreSQL, Redis, Kafka and stripe-mock via scripts/services.sh and uses those. Extra arguments
# go to jest (e.g. `npm test -- test/config`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${DATABASE_URL:-}${REDIS_URL:-}${KAFKA_BROKERS:-}" ]]; then
  bash scripts/services.sh up
  # shellcheck source=/dev/null
  source .services/env
fi

npm run build --silent
npx tsc -p tsconfig.json --noEmit
# PGlite (embedded Postgres) is an ES module loaded with import(); jest needs this flag for that.
NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" npx jest "$@"
