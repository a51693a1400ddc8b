#!/usr/bin/env bash
# Local backing services for Tollgraph, without Docker: PostgreSQL, Redis, Kafka (KRaft) and
# stripe-mock and versitygw (an S3 API for the archive), plus an optional Jaeger for traces. Installs what is missing, runs each as a plain
# process bound to 127.0.0.1 and keeps every byte of state in the git-ignored folder .services/.
#
#   scripts/services.sh up [service...]      install + start (all but jaeger, or the named ones)
#                                            and wait until each answers; writes .services/env
#   scripts/services.sh down [service...]    stop cleanly (all, or the named ones; data is kept)
#   scripts/services.sh start NAME / stop NAME   the same for one service (outage tests)
#   scripts/services.sh status               one line per service; always exits 0
#   scripts/services.sh env                  export lines for the running services
#   ... --secure (or SERVICES_PROFILE=secure)   the same for a second set with TLS and authentication
#                                            (postgres 5433, redis 6380, kafka 9094; .services/secure;
#                                            scripts/services/secure.sh); `certs --secure` only makes
#                                            its certificates (for docker compose --profile secure)
#
# Services: postgres redis kafka stripe-mock s3 edge (HAProxy for the tier-aware edge: installed
# only; each gateway, test and benchmark starts its own with deploy/edge/haproxy.cfg), and jaeger (optional: only `up jaeger` starts it;
# OTLP on 4318, query API on 16686) and redis-cluster (optional: only `up redis-cluster` starts it;
# 3 masters + 3 replicas on 7001-7006, scripts/services/redis-cluster.sh; REDIS_CLUSTER_NODES).
# Safe to re-run: a second `up` reuses what is installed and running and downloads nothing.
# docker-compose.yml describes the same services.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# SERVICES_DIR, PG_PORT, REDIS_PORT and REDIS_CLUSTER_FIRST_PORT may be overridden to run a second, private instance
# (outage tests stop and start their own Postgres or Redis without disturbing the shared one).
SVC_DIR="${SERVICES_DIR:-$ROOT/.services}"
ALL_SERVICES=(postgres redis kafka stripe-mock s3 edge jaeger redis-cluster)
# what a bare `up` starts; jaeger (tracing) and redis-cluster are optional. A bare `down` stops all of ALL_SERVICES.
DEFAULT_SERVICES=(postgres redis kafka stripe-mock s3 edge)

# ---- addresses, credentials and versions (keep docker-compose.yml in step) -------------------
HOST=127.0.0.1
PG_PORT=${PG_PORT:-5432}
PG_USER=tollgraph
PG_PASSWORD=tollgraph
PG_DB=tollgraph
REDIS_PORT=${REDIS_PORT:-6379}
# the optional Redis Cluster: REDIS_CLUSTER_NODES nodes from this port on, the first
# REDIS_CLUSTER_MASTERS of them masters, the rest their replicas
REDIS_CLUSTER_FIRST_PORT=${REDIS_CLUSTER_FIRST_PORT:-7001}
REDIS_CLUSTER_NODES=6
REDIS_CLUSTER_MASTERS=3
REDIS_CLUSTER_NODE_TIMEOUT_MS=2000
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
STRIPE_MOCK_PORT=12111
STRIPE_MOCK_HTTPS_PORT=12112
STRIPE_MOCK_VERSION=v0.203.0
STRIPE_SECRET_KEY=sk_test_123
# versitygw: a real S3 API over a directory (each bucket a folder), for the archive tier
S3_PORT=7070
S3_VERSION=v1.8.0
S3_ACCESS_KEY=tollgraph
S3_SECRET_KEY=tollgraph-secret
S3_BUCKET=tollgraph-archive
KAFKA_POM="$ROOT/scripts/services/kafka/pom.xml"
# Jaeger v2 (OpenTelemetry-collector based). Each release has two tags on one commit: the Go
# module's v1.x (what `go get` needs) and v2.x (the binary's version, the image tag).
JAEGER_VERSION=v1.76.0
JAEGER_IMAGE_VERSION=2.13.0
JAEGER_OTLP_HTTP_PORT=4318
JAEGER_OTLP_GRPC_PORT=4317
JAEGER_QUERY_PORT=16686
JAEGER_QUERY_GRPC_PORT=16685
JAEGER_MAX_TRACES=100000

# ---- timeouts (seconds) ----------------------------------------------------------------------
PG_START_TIMEOUT=60
REDIS_START_TIMEOUT=30
KAFKA_START_TIMEOUT=90
STRIPE_MOCK_START_TIMEOUT=30
S3_START_TIMEOUT=30
JAEGER_START_TIMEOUT=30
STOP_TIMEOUT=60

# ---- profile: `--secure` (or SERVICES_PROFILE=secure) is a second set with TLS and auth on ------
# its own ports and data folder (scripts/services/secure.sh); the default set is never touched.
REDIS_CLI_OPTS=()
KAFKA_FORMAT_ARGS=()
ARGS=()
PROFILE=${SERVICES_PROFILE:-default}
for arg in "$@"; do if [[ $arg == --secure ]]; then PROFILE=secure; else ARGS+=("$arg"); fi; done
case $PROFILE in
  default) ;;
  # shellcheck source=services/secure.sh
  secure) source "$ROOT/scripts/services/secure.sh" ;;
  *) echo "services.sh: unknown SERVICES_PROFILE '$PROFILE' (default or secure)" >&2; exit 2 ;;
esac

# shellcheck source=services/redis-cluster.sh
source "$ROOT/scripts/services/redis-cluster.sh"

# ---- paths -----------------------------------------------------------------------------------
PG_DIR="$SVC_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
PG_SOCK="$PG_DIR/run"
REDIS_DIR="$SVC_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
KAFKA_DIR="$SVC_DIR/kafka"
KAFKA_LIBS="${SHARED_KAFKA_LIBS:-$KAFKA_DIR/libs}"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j2.properties"
KAFKA_TOOLS_LOG4J="$KAFKA_DIR/tools-log4j2.properties"
KAFKA_ADMIN_PROPS="$KAFKA_DIR/admin.properties"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_OUT="$KAFKA_DIR/kafka.out"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
SM_DIR="$SVC_DIR/stripe-mock"
SM_BIN="$SVC_DIR/bin/stripe-mock"
SM_MARKER="$SVC_DIR/bin/.stripe-mock.version"
SM_LOG="$SM_DIR/stripe-mock.log"
SM_PID="$SM_DIR/stripe-mock.pid"
S3_DIR="$SVC_DIR/s3"
S3_DATA="$S3_DIR/data"
S3_BIN="$SVC_DIR/bin/versitygw"
S3_MARKER="$SVC_DIR/bin/.versitygw.version"
S3_LOG="$S3_DIR/versitygw.log"
S3_PID="$S3_DIR/versitygw.pid"
JAEGER_DIR="$SVC_DIR/jaeger"
JAEGER_BUILD="$JAEGER_DIR/build"
JAEGER_BIN="$SVC_DIR/bin/jaeger"
JAEGER_MARKER="$SVC_DIR/bin/.jaeger.version"
JAEGER_CONF="$JAEGER_DIR/config.yaml"
JAEGER_LOG="$JAEGER_DIR/jaeger.log"
JAEGER_PID="$JAEGER_DIR/jaeger.pid"
ENV_FILE="$SVC_DIR/env"

# ---- helpers ---------------------------------------------------------------------------------
log() { printf '[services] %s\n' "$*" >&2; }

# fail SERVICE LOGFILE MESSAGE...: name the service, show the tail of its log, exit 1.
fail() {
  local svc=$1 logf=$2
  shift 2
  printf 'services.sh: ERROR: %s: %s\n' "$svc" "$*" >&2
  local f
  for f in $logf; do
    if [[ -s $f ]]; then
      printf -- '---- last 40 lines of %s ----\n' "$f" >&2
      tail -n 40 "$f" >&2
      printf -- '---- end of %s ----\n' "$f" >&2
    fi
  done
  exit 1
}

usage() { # usage EXIT_CODE
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

is_root() { [[ $EUID -eq 0 ]]; }

# Run a command as root (directly, or through sudo for a non-root developer).
as_root() {
  if is_root; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1
  fi
}

# pid_live PID: the process exists and is not a zombie (a daemon whose parent is init can sit as
# a zombie until init reaps it; it no longer serves anything).
pid_live() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)
  [[ $st != Z ]]
}

port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# proc_alive PIDFILE PATTERN: the pid in PIDFILE is alive and its command line contains PATTERN
# (guards against a stale pid file whose number was reused by another process).
proc_alive() {
  local pidf=$1 pattern=$2 pid
  [[ -s $pidf ]] || return 1
  pid=$(<"$pidf")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_live "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# proc_stop NAME PIDFILE PATTERN TIMEOUT: SIGTERM, wait, then SIGKILL.
proc_stop() {
  local name=$1 pidf=$2 pattern=$3 t=$4 pid deadline
  if ! proc_alive "$pidf" "$pattern"; then rm -f "$pidf"; return 0; fi
  pid=$(<"$pidf")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + t))
  while pid_live "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$name did not stop within ${t}s; sending SIGKILL to $pid"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$pidf"
}

# bg_start PIDFILE LOGFILE CMD...: start CMD detached (own session, immune to SIGHUP, stdin
# closed), output appended to LOGFILE; the pid written is that of CMD itself.
bg_start() {
  local pidf=$1 logf=$2
  shift 2
  rm -f "$pidf"
  # shellcheck disable=SC2016
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" >>"$logf" 2>&1 </dev/null 9>&- &
  local _
  for _ in $(seq 1 50); do [[ -s $pidf ]] && return 0; sleep 0.1; done
  return 1
}

# refuse to start when someone else already listens on our port
assert_port_free() {
  local svc=$1 port=$2
  if port_open "$port"; then
    local who
    who=$(ss -ltnpH "sport = :$port" 2>/dev/null | head -3 || true)
    fail "$svc" "" "port $HOST:$port is already in use by another process (not ours): ${who:-unknown}." \
      "Stop it, or stop the Debian/system service that owns it, and run again."
  fi
}

APT_UPDATED=0
apt_install() {
  local pkgs=("$@") p need_update=0
  for p in "${pkgs[@]}"; do
    # (no 'grep -q' on a pipe here: with pipefail its early exit would SIGPIPE apt-cache)
    if [[ $(apt-cache policy "$p" 2>/dev/null) != *"Candidate: "[0-9]* ]]; then need_update=1; fi
  done
  if ((need_update)) && ((APT_UPDATED == 0)); then
    log "apt-get update (package list does not know: ${pkgs[*]})"
    as_root apt-get update -qq >&2
    APT_UPDATED=1
  fi
  # Keep Debian's maintainer scripts from starting their own postgres/redis daemons (they would
  # take our ports); this is what policy-rc.d is for. Only added when the machine has none.
  local added_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  log "apt-get install ${pkgs[*]}"
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${pkgs[@]}" >&2 || rc=$?
  if ((added_policy)); then as_root rm -f /usr/sbin/policy-rc.d; fi
  return $rc
}

# Serializes up/down/start/stop. Every server is launched with fd 9 closed ('9>&-') so that a
# long-running daemon never inherits (and keeps holding) this lock.
lock() {
  mkdir -p "$SVC_DIR"
  exec 9>"$SVC_DIR/.lock"
  if ! flock -w 600 9; then
    log "another services.sh is still running after 600 s (lock $SVC_DIR/.lock)"
    exit 1
  fi
}

# =============================================================================================
# PostgreSQL: our own cluster (initdb + pg_ctl), never Debian's cluster or systemd unit.
# =============================================================================================
pg_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && best=$d
  done
  if [[ -z $best ]] && command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    best=$(dirname "$(command -v pg_ctl)")
  fi
  # highest major version wins: the glob sorts 15 < 16 < 17 (same digit count)
  [[ -n $best ]] && echo "$best"
}

# Run a PostgreSQL tool as the 'postgres' OS user (from /, so a cwd it cannot enter, such as
# /root, draws no warning). All paths given to it are absolute.
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_install() {
  if [[ -z $(pg_bindir) ]]; then
    # Like the official postgres image: postgresql-common first, told not to create Debian's
    # "main" cluster, then the server itself (policy-rc.d in apt_install keeps it from starting).
    apt_install postgresql-common ||
      fail postgres "" "apt-get install postgresql-common failed (see the apt output above)"
    if [[ -f /etc/postgresql-common/createcluster.conf ]]; then
      as_root sed -ri 's/^#?[[:space:]]*(create_main_cluster)[[:space:]]*=.*$/\1 = false/' \
        /etc/postgresql-common/createcluster.conf
    fi
    apt_install postgresql postgresql-client ||
      fail postgres "" "apt-get install postgresql failed (see the apt output above)"
    [[ -n $(pg_bindir) ]] || fail postgres "" "postgresql installed but no initdb/pg_ctl found under /usr/lib/postgresql/*/bin"
  fi
  if is_root && ! id postgres >/dev/null 2>&1; then
    fail postgres "" "the 'postgres' OS user does not exist (the Debian postgresql package creates it)"
  fi
  # The unix socket path must stay under 108 bytes; fall back to /tmp for deep checkouts.
  if ((${#PG_SOCK} + 20 > 100)); then
    PG_SOCK="/tmp/tollgraph-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
  fi
}

# The cluster runs as 'postgres' (initdb refuses root): it must be able to reach .services/postgres.
pg_ensure_traversable() {
  is_root || return 0
  local d=$PG_DIR
  while d=$(dirname "$d"); [[ $d != / ]]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      log "postgres: chmod o+x $d (so the 'postgres' user can reach $PG_DIR)"
      chmod o+x "$d"
    fi
  done
}

pg_prepare() {
  mkdir -p "$PG_DIR"
  pg_ensure_traversable
  if is_root; then chown postgres:postgres "$PG_DIR"; fi
  chmod 700 "$PG_DIR"
  mkdir -p "$PG_SOCK"
  if is_root; then chown postgres:postgres "$PG_SOCK"; fi
  chmod 700 "$PG_SOCK"
  local bindir
  bindir=$(pg_bindir)
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    log "postgres: initdb $PG_DATA"
    rm -rf "$PG_DATA"
    if ! as_pg "$bindir/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1; then
      rm -rf "$PG_DATA"
      fail postgres "$PG_DIR/initdb.log" "initdb failed"
    fi
    echo "include_if_exists = 'tollgraph.conf'" >>"$PG_DATA/postgresql.conf"
  fi
  # Regenerated on every start; loopback only, socket inside .services.
  cat >"$PG_DATA/tollgraph.conf" <<EOF
# written by scripts/services.sh on every start; edit the script, not this file
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 128MB
# tests: keep fsync (no corruption on a crash) but do not wait for the WAL flush on commit
synchronous_commit = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  if declare -F pg_secure_prepare >/dev/null; then pg_secure_prepare; fi
  if is_root; then chown postgres:postgres "$PG_DATA/tollgraph.conf" "$PG_DATA/postgresql.conf"; fi
}

# The postmaster named in postmaster.pid is alive (and not a zombie: 'pg_ctl status' counts a
# killed-but-unreaped postmaster as running, and the new postmaster would refuse its lock file).
pg_running() {
  [[ -s $PG_DATA/postmaster.pid ]] || return 1
  local pid
  pid=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_live "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q postgres
}

# A postmaster.pid left by a killed postmaster: Postgres itself overwrites one whose pid is gone,
# but not one whose pid is an unreaped zombie or was reused by another program.
pg_clear_stale_pidfile() {
  local f=$PG_DATA/postmaster.pid pid deadline
  [[ -s $f ]] || return 0
  pid=$(head -1 "$f" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && ! pid_live "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "postgres: removing stale postmaster.pid (pid $pid is not a live postmaster)"
    rm -f "$f"
  fi
}

# superuser SQL from stdin, over the cluster's own unix socket (trust, reachable only by 'postgres')
pg_admin_sql() {
  local bindir
  bindir=$(pg_bindir)
  as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres
}

pg_up() {
  pg_install
  local bindir
  bindir=$(pg_bindir)
  if pg_running; then
    log "postgres: already running"
  else
    pg_prepare
    pg_clear_stale_pidfile
    assert_port_free postgres "$PG_PORT"
    log "postgres: starting on $HOST:$PG_PORT"
    if ! as_pg "$bindir/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" -s \
      >"$PG_DIR/pg_ctl.log" 2>&1 </dev/null 9>&-; then
      fail postgres "$PG_DIR/pg_ctl.log $PG_LOG" "pg_ctl start failed or did not finish within ${PG_START_TIMEOUT}s"
    fi
  fi
  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until "$bindir/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2; do
    ((SECONDS < deadline)) || fail postgres "$PG_LOG" "pg_isready did not answer within ${PG_START_TIMEOUT}s"
    sleep 0.3
  done
  # role + database, idempotently (tests create one database per test file: CREATEDB)
  pg_admin_sql >"$PG_DIR/bootstrap.log" 2>&1 <<EOF || fail postgres "$PG_DIR/bootstrap.log $PG_LOG" "could not create role/database $PG_USER"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
  local out
  out=$(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 "$bindir/psql" -X -At \
    -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c 'select 1' 2>&1) || true
  [[ $out == 1 ]] || fail postgres "$PG_LOG" "psql 'select 1' as $PG_USER over TCP failed: $out"
  log "postgres: ready at postgresql://$PG_USER:***@$HOST:$PG_PORT/$PG_DB"
}

pg_down() {
  local bindir
  bindir=$(pg_bindir) || { log "postgres: not installed"; return 0; }
  if ! pg_running; then log "postgres: not running"; return 0; fi
  log "postgres: stopping"
  if ! as_pg "$bindir/pg_ctl" stop -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" -s >/dev/null 2>&1; then
    log "postgres: fast shutdown timed out; using immediate"
    as_pg "$bindir/pg_ctl" stop -D "$PG_DATA" -m immediate -w -t 30 -s >/dev/null 2>&1 ||
      fail postgres "$PG_LOG" "could not stop the cluster"
  fi
}

pg_status() {
  if pg_running; then
    echo "postgres     running  $HOST:$PG_PORT  (pid $(head -1 "$PG_DATA/postmaster.pid"), data $PG_DATA)"
  else
    echo "postgres     stopped  $HOST:$PG_PORT"
  fi
}

# =============================================================================================
# Redis: our own redis-server with a generated config, daemonized.
# =============================================================================================
redis_install() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools || fail redis "" "apt-get install redis-server failed (see the apt output above)"
  fi
}

redis_running() { proc_alive "$REDIS_PID" redis-server; }

redis_cli() { redis-cli -h "$HOST" -p "$REDIS_PORT" "${REDIS_CLI_OPTS[@]}" "$@"; }

redis_up() {
  redis_install
  mkdir -p "$REDIS_DIR"
  if redis_running; then
    log "redis: already running"
  else
    assert_port_free redis "$REDIS_PORT"
    cat >"$REDIS_CONF" <<EOF
# written by scripts/services.sh on every start; edit the script, not this file
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
supervised no
pidfile $REDIS_PID
logfile $REDIS_LOG
loglevel notice
dir $REDIS_DIR
dbfilename dump.rdb
# no periodic snapshots and no AOF: fast for tests. 'services.sh stop/down' uses SHUTDOWN SAVE,
# so a clean stop keeps the data; a crash loses it.
save ""
appendonly no
databases 16
EOF
    if declare -F redis_secure_conf >/dev/null; then redis_secure_conf >>"$REDIS_CONF"; fi
    log "redis: starting on $HOST:$REDIS_PORT"
    rm -f "$REDIS_PID"
    redis-server "$REDIS_CONF" >>"$REDIS_LOG" 2>&1 </dev/null 9>&- || fail redis "$REDIS_LOG" "redis-server refused to start"
  fi
  local deadline=$((SECONDS + REDIS_START_TIMEOUT)) out=""
  while :; do
    out=$(redis_cli ping 2>/dev/null || true)
    [[ $out == PONG ]] && break
    ((SECONDS < deadline)) || fail redis "$REDIS_LOG" "no PONG within ${REDIS_START_TIMEOUT}s (got: '${out}')"
    sleep 0.2
  done
  log "redis: ready at redis://$HOST:$REDIS_PORT"
}

redis_down() {
  if ! redis_running; then log "redis: not running"; rm -f "$REDIS_PID"; return 0; fi
  log "redis: stopping"
  local pid
  pid=$(<"$REDIS_PID")
  redis_cli shutdown save >/dev/null 2>&1 || redis_cli shutdown nosave >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 15))
  while pid_live "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  proc_stop redis "$REDIS_PID" redis-server 10
}

redis_status() {
  if redis_running; then
    echo "redis        running  $HOST:$REDIS_PORT  (pid $(<"$REDIS_PID"))"
  else
    echo "redis        stopped  $HOST:$REDIS_PORT"
  fi
}

# =============================================================================================
# Kafka: jars from Maven Central (scripts/services/kafka/pom.xml), KRaft combined single node.
# =============================================================================================
kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM"; }

kafka_install() {
  if ! command -v java >/dev/null; then
    apt_install openjdk-17-jre-headless || fail kafka "" "apt-get install openjdk-17-jre-headless failed"
  fi
  local want have=""
  want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  [[ -f $KAFKA_LIBS/.pom.sha256 ]] && have=$(<"$KAFKA_LIBS/.pom.sha256")
  if [[ $want == "$have" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    return 0
  fi
  if ! command -v mvn >/dev/null; then
    apt_install maven || fail kafka "" "apt-get install maven failed"
  fi
  mkdir -p "$KAFKA_DIR"
  log "kafka: fetching Kafka $(kafka_version) jars with Maven into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS.tmp"
  if ! mvn -B -q -f "$KAFKA_POM" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS.tmp" >"$KAFKA_DIR/mvn.log" 2>&1; then
    rm -rf "$KAFKA_LIBS.tmp"
    fail kafka "$KAFKA_DIR/mvn.log" "mvn dependency:copy-dependencies failed"
  fi
  echo "$want" >"$KAFKA_LIBS.tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_PROPS" <<EOF
# written by scripts/services.sh on every start; edit the script, not this file
# KRaft, one node acting as broker and controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
# topics are created explicitly, with the partition count the code means
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# single broker: internal topics must not ask for more replicas than there are brokers
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
  cat >"$KAFKA_LOG4J" <<EOF
# written by scripts/services.sh: broker log at $KAFKA_LOG (INFO for startup/shutdown, WARN for the chatty parts)
name = tollgraph-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $KAFKA_LOG
appender.file.filePattern = $KAFKA_LOG.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.storage.name = org.apache.kafka.storage
logger.storage.level = WARN
logger.log.name = kafka.log
logger.log.level = WARN
logger.cluster.name = kafka.cluster
logger.cluster.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.metadata.name = org.apache.kafka.image
logger.metadata.level = WARN
logger.coordinator.name = org.apache.kafka.coordinator
logger.coordinator.level = WARN
logger.replica.name = kafka.server.ReplicaFetcherManager
logger.replica.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
EOF
  cat >"$KAFKA_TOOLS_LOG4J" <<'EOF'
# written by scripts/services.sh: command-line tools log errors only, to stderr
name = tollgraph-kafka-tools
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ERROR
rootLogger.appenderRef.err.ref = STDERR
EOF
  cat >"$KAFKA_ADMIN_PROPS" <<'EOF'
# short timeouts for the readiness check
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
  # the secure profile's listener and its client settings (a later key wins in a properties file)
  if declare -F kafka_secure_conf >/dev/null; then
    kafka_secure_conf >>"$KAFKA_PROPS"
    kafka_secure_admin_conf >>"$KAFKA_ADMIN_PROPS"
  fi
}

# a short-lived JVM for the command-line tools (StorageTool, TopicCommand)
KAFKA_TOOL_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto)
kafka_tool_java() {
  java "${KAFKA_TOOL_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_TOOLS_LOG4J" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_topics_list() {
  timeout 30 java "${KAFKA_TOOL_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_TOOLS_LOG4J" -cp "$KAFKA_LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$KAFKA_ADMIN_PROPS" --list
}

# First start only: ask for the group and the transaction coordinators once (a FindCoordinator
# makes the broker create __consumer_offsets and __transaction_state), so the first consumer group
# or transactional producer of a test run does not meet COORDINATOR_NOT_AVAILABLE retries.
# Both commands 'fail' with "not found" for the made-up ids; that is expected and ignored.
# (Still expected after every broker start: the first InitProducerId of an idempotent producer
# gets one retriable COORDINATOR_LOAD_IN_PROGRESS while the broker fetches a block of producer
# ids from the controller; kafkajs logs it at ERROR level and retries successfully.)
kafka_warm_coordinators() {
  if ! compgen -G "$KAFKA_DATA/__consumer_offsets-*" >/dev/null; then
    timeout 30 java "${KAFKA_TOOL_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_TOOLS_LOG4J" -cp "$KAFKA_LIBS/*" \
      org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --command-config "$KAFKA_ADMIN_PROPS" --describe --group tollgraph-warmup >/dev/null 2>&1 || true
  fi
  if ! compgen -G "$KAFKA_DATA/__transaction_state-*" >/dev/null; then
    timeout 30 java "${KAFKA_TOOL_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_TOOLS_LOG4J" -cp "$KAFKA_LIBS/*" \
      org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --command-config "$KAFKA_ADMIN_PROPS" describe --transactional-id tollgraph-warmup >/dev/null 2>&1 || true
  fi
}

kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id
  if [[ -s $KAFKA_DIR/cluster-id ]]; then
    id=$(<"$KAFKA_DIR/cluster-id")
  else
    id=$(kafka_tool_java kafka.tools.StorageTool random-uuid 2>"$KAFKA_DIR/format.log") ||
      fail kafka "$KAFKA_DIR/format.log" "StorageTool random-uuid failed"
    echo "$id" >"$KAFKA_DIR/cluster-id"
  fi
  log "kafka: formatting $KAFKA_DATA (cluster id $id)"
  kafka_tool_java kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$KAFKA_PROPS" "${KAFKA_FORMAT_ARGS[@]}" \
    >>"$KAFKA_DIR/format.log" 2>&1 || fail kafka "$KAFKA_DIR/format.log" "StorageTool format failed"
}

kafka_running() { proc_alive "$KAFKA_PID" kafka.Kafka; }

kafka_up() {
  kafka_install
  mkdir -p "$KAFKA_DIR"
  if kafka_running; then
    log "kafka: already running"
  else
    assert_port_free kafka "$KAFKA_PORT"
    assert_port_free kafka "$KAFKA_CONTROLLER_PORT"
    kafka_write_config
    kafka_format
    log "kafka: starting Kafka $(kafka_version) on $HOST:$KAFKA_PORT"
    {
      echo
      echo "==== $(date -u +%FT%TZ) services.sh start ===="
    } >>"$KAFKA_OUT"
    bg_start "$KAFKA_PID" "$KAFKA_OUT" java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dkafka.logs.dir="$KAFKA_DIR" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" ||
      fail kafka "$KAFKA_OUT $KAFKA_LOG" "could not launch the JVM"
  fi
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while :; do
    kafka_running || fail kafka "$KAFKA_OUT $KAFKA_LOG" "the broker process exited during startup"
    if port_open "$KAFKA_PORT" && kafka_topics_list >/dev/null 2>"$KAFKA_DIR/readiness.log"; then
      break
    fi
    ((SECONDS < deadline)) ||
      fail kafka "$KAFKA_DIR/readiness.log $KAFKA_LOG" "no metadata answer (kafka-topics --list) within ${KAFKA_START_TIMEOUT}s"
    sleep 1
  done
  kafka_warm_coordinators
  log "kafka: ready at $HOST:$KAFKA_PORT"
}

kafka_down() {
  if ! kafka_running; then log "kafka: not running"; rm -f "$KAFKA_PID"; return 0; fi
  log "kafka: stopping"
  proc_stop kafka "$KAFKA_PID" kafka.Kafka "$STOP_TIMEOUT"
}

kafka_status() {
  if kafka_running; then
    echo "kafka        running  $HOST:$KAFKA_PORT  (pid $(<"$KAFKA_PID"), Kafka $(kafka_version), KRaft controller $HOST:$KAFKA_CONTROLLER_PORT)"
  else
    echo "kafka        stopped  $HOST:$KAFKA_PORT"
  fi
}

# http_status PORT PATH [CURL_ARGS...]: the status code of GET http://$HOST:PORT/PATH (curl, or
# bash's /dev/tcp where curl is missing); empty when nothing answers within 3 s.
http_status() {
  local port=$1 path=$2
  shift 2
  if command -v curl >/dev/null; then
    curl -s -o /dev/null -m 3 -w '%{http_code}' "$@" "http://$HOST:$port$path" || true
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$port; printf 'GET $path HTTP/1.0\r\nHost: x\r\n\r\n' >&3; head -c 12 <&3" 2>/dev/null | sed -n 's#^HTTP/1\.[01] \([0-9]*\).*#\1#p'
  fi
}

# =============================================================================================
# stripe-mock: built with `go install` into .services/bin.
# =============================================================================================
go_cmd() {
  if command -v go >/dev/null; then command -v go; elif [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; else return 1; fi
}

sm_install() {
  if [[ -x $SM_BIN && -f $SM_MARKER && $(<"$SM_MARKER") == "$STRIPE_MOCK_VERSION" ]]; then return 0; fi
  local go
  go=$(go_cmd) || true
  [[ -n $go ]] || fail stripe-mock "" "Go (>= 1.22) is needed to build stripe-mock and was not found on PATH or in /usr/local/go"
  mkdir -p "$SVC_DIR/bin" "$SM_DIR"
  log "stripe-mock: go install github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  if ! GOBIN="$SVC_DIR/bin" GOFLAGS=-buildvcs=false "$go" install \
    "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >"$SM_DIR/install.log" 2>&1; then
    fail stripe-mock "$SM_DIR/install.log" "go install failed"
  fi
  echo "$STRIPE_MOCK_VERSION" >"$SM_MARKER"
}

sm_running() { proc_alive "$SM_PID" stripe-mock; }

sm_answers() { [[ $(http_status "$STRIPE_MOCK_PORT" '/v1/customers?limit=1' -u "$STRIPE_SECRET_KEY:") =~ ^[1-5][0-9][0-9]$ ]]; }

sm_up() {
  sm_install
  mkdir -p "$SM_DIR"
  if sm_running; then
    log "stripe-mock: already running"
  else
    assert_port_free stripe-mock "$STRIPE_MOCK_PORT"
    assert_port_free stripe-mock "$STRIPE_MOCK_HTTPS_PORT"
    log "stripe-mock: starting $STRIPE_MOCK_VERSION on $HOST:$STRIPE_MOCK_PORT (HTTPS $STRIPE_MOCK_HTTPS_PORT)"
    bg_start "$SM_PID" "$SM_LOG" "$SM_BIN" -http-addr "$HOST:$STRIPE_MOCK_PORT" \
      -https-addr "$HOST:$STRIPE_MOCK_HTTPS_PORT" || fail stripe-mock "$SM_LOG" "could not launch stripe-mock"
  fi
  local deadline=$((SECONDS + STRIPE_MOCK_START_TIMEOUT))
  until sm_answers; do
    sm_running || fail stripe-mock "$SM_LOG" "stripe-mock exited during startup"
    ((SECONDS < deadline)) || fail stripe-mock "$SM_LOG" "no HTTP answer on $HOST:$STRIPE_MOCK_PORT within ${STRIPE_MOCK_START_TIMEOUT}s"
    sleep 0.2
  done
  log "stripe-mock: ready at http://$HOST:$STRIPE_MOCK_PORT"
}

sm_down() {
  if ! sm_running; then log "stripe-mock: not running"; rm -f "$SM_PID"; return 0; fi
  log "stripe-mock: stopping"
  proc_stop stripe-mock "$SM_PID" stripe-mock 10
}

sm_status() {
  if sm_running; then
    echo "stripe-mock  running  $HOST:$STRIPE_MOCK_PORT  (pid $(<"$SM_PID"), $STRIPE_MOCK_VERSION, HTTPS $HOST:$STRIPE_MOCK_HTTPS_PORT)"
  else
    echo "stripe-mock  stopped  $HOST:$STRIPE_MOCK_PORT"
  fi
}

# =============================================================================================
# s3: versitygw (Apache-2.0), an S3 gateway over a directory, built with `go install`.
# =============================================================================================
s3_install() {
  if [[ -x $S3_BIN && -f $S3_MARKER && $(<"$S3_MARKER") == "$S3_VERSION" ]]; then return 0; fi
  local go
  go=$(go_cmd) || true
  [[ -n $go ]] || fail s3 "" "Go (>= 1.24) is needed to build versitygw and was not found on PATH or in /usr/local/go"
  mkdir -p "$SVC_DIR/bin" "$S3_DIR"
  log "s3: go install github.com/versity/versitygw/cmd/versitygw@$S3_VERSION (once; takes a few minutes)"
  if ! GOBIN="$SVC_DIR/bin" GOFLAGS=-buildvcs=false "$go" install \
    "github.com/versity/versitygw/cmd/versitygw@$S3_VERSION" >"$S3_DIR/install.log" 2>&1; then
    fail s3 "$S3_DIR/install.log" "go install failed"
  fi
  echo "$S3_VERSION" >"$S3_MARKER"
}

s3_running() { proc_alive "$S3_PID" versitygw; }

# any HTTP answer will do: an unsigned request gets S3's 403
s3_answers() { [[ $(http_status "$S3_PORT" /) =~ ^[1-5][0-9][0-9]$ ]]; }

s3_up() {
  s3_install
  # the posix backend's buckets are folders: the default bucket exists from the start
  mkdir -p "$S3_DATA/$S3_BUCKET"
  if s3_running; then
    log "s3: already running"
  else
    assert_port_free s3 "$S3_PORT"
    log "s3: starting versitygw $S3_VERSION on $HOST:$S3_PORT (data $S3_DATA)"
    bg_start "$S3_PID" "$S3_LOG" "$S3_BIN" --access "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" \
      --port "$HOST:$S3_PORT" posix "$S3_DATA" || fail s3 "$S3_LOG" "could not launch versitygw"
  fi
  local deadline=$((SECONDS + S3_START_TIMEOUT))
  until s3_answers; do
    s3_running || fail s3 "$S3_LOG" "versitygw exited during startup"
    ((SECONDS < deadline)) || fail s3 "$S3_LOG" "no HTTP answer on $HOST:$S3_PORT within ${S3_START_TIMEOUT}s"
    sleep 0.2
  done
  log "s3: ready at http://$HOST:$S3_PORT (bucket $S3_BUCKET)"
}

s3_down() {
  if ! s3_running; then log "s3: not running"; rm -f "$S3_PID"; return 0; fi
  log "s3: stopping"
  proc_stop s3 "$S3_PID" versitygw 10
}

s3_status() {
  if s3_running; then
    echo "s3           running  $HOST:$S3_PORT  (pid $(<"$S3_PID"), versitygw $S3_VERSION, bucket $S3_BUCKET)"
  else
    echo "s3           stopped  $HOST:$S3_PORT"
  fi
}

# =============================================================================================
# Jaeger (optional): built from source with Go into .services/bin, in-memory storage.
# `go install pkg@version` refuses Jaeger's go.mod (it has replace directives), so the binary is
# built from a scratch module that requires it as a tool. The Go module carries no UI assets (the
# jaeger-ui build is not in it): port 16686 serves the query API (/api/services, /api/traces/ID,
# /api/traces?service=...) and a placeholder page; the Docker image (docker-compose.yml) has the UI.
# =============================================================================================
jaeger_install() {
  if [[ -x $JAEGER_BIN && -f $JAEGER_MARKER && $(<"$JAEGER_MARKER") == "$JAEGER_VERSION" ]]; then return 0; fi
  local go
  go=$(go_cmd) || true
  [[ -n $go ]] || fail jaeger "" "Go (>= 1.24) is needed to build Jaeger and was not found on PATH or in /usr/local/go"
  mkdir -p "$SVC_DIR/bin" "$JAEGER_DIR"
  log "jaeger: building github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION (once; takes a few minutes)"
  rm -rf "$JAEGER_BUILD" "$JAEGER_BIN.tmp"
  mkdir -p "$JAEGER_BUILD"
  if ! (cd "$JAEGER_BUILD" && export GOFLAGS=-buildvcs=false &&
    "$go" mod init tollgraph-jaeger-build &&
    "$go" get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" &&
    "$go" build -o "$JAEGER_BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger) >"$JAEGER_DIR/install.log" 2>&1; then
    rm -f "$JAEGER_BIN.tmp"
    fail jaeger "$JAEGER_DIR/install.log" "building Jaeger failed"
  fi
  mv -f "$JAEGER_BIN.tmp" "$JAEGER_BIN"
  rm -rf "$JAEGER_BUILD"
  echo "$JAEGER_VERSION" >"$JAEGER_MARKER"
}

# Adapted from Jaeger's own cmd/jaeger/internal/all-in-one.yaml, which it uses without --config:
# OTLP receiver only, no sampling/health/expvar/zpages extensions, every listener on $HOST.
jaeger_write_config() {
  cat >"$JAEGER_CONF" <<EOF
# written by scripts/services.sh on every start; edit the script, not this file
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    # no metrics endpoint of Jaeger's own (the default would listen on port 8888)
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_query:
    storage:
      traces: memstore
    # Jaeger does not trace its own queries (they would show up as a service 'jaeger')
    enable_tracing: false
    http:
      endpoint: $HOST:$JAEGER_QUERY_PORT
    grpc:
      endpoint: $HOST:$JAEGER_QUERY_GRPC_PORT

  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: $JAEGER_MAX_TRACES

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: $HOST:$JAEGER_OTLP_GRPC_PORT
      http:
        endpoint: $HOST:$JAEGER_OTLP_HTTP_PORT

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

jaeger_running() { proc_alive "$JAEGER_PID" bin/jaeger; }

# the query API answers with 200 (it starts after the storage) and the OTLP/HTTP port accepts
jaeger_answers() { port_open "$JAEGER_OTLP_HTTP_PORT" && [[ $(http_status "$JAEGER_QUERY_PORT" /api/services) == 200 ]]; }

jaeger_up() {
  jaeger_install
  mkdir -p "$JAEGER_DIR"
  if jaeger_running; then
    log "jaeger: already running"
  else
    local port
    for port in "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_QUERY_PORT" "$JAEGER_QUERY_GRPC_PORT"; do
      assert_port_free jaeger "$port"
    done
    jaeger_write_config
    log "jaeger: starting $JAEGER_VERSION (v$JAEGER_IMAGE_VERSION) on $HOST: OTLP $JAEGER_OTLP_HTTP_PORT (HTTP) $JAEGER_OTLP_GRPC_PORT (gRPC), query API $JAEGER_QUERY_PORT"
    {
      echo
      echo "==== $(date -u +%FT%TZ) services.sh start ===="
    } >>"$JAEGER_LOG"
    bg_start "$JAEGER_PID" "$JAEGER_LOG" "$JAEGER_BIN" --config "$JAEGER_CONF" ||
      fail jaeger "$JAEGER_LOG" "could not launch jaeger"
  fi
  local deadline=$((SECONDS + JAEGER_START_TIMEOUT))
  until jaeger_answers; do
    jaeger_running || fail jaeger "$JAEGER_LOG" "jaeger exited during startup"
    ((SECONDS < deadline)) ||
      fail jaeger "$JAEGER_LOG" "no 200 from http://$HOST:$JAEGER_QUERY_PORT/api/services within ${JAEGER_START_TIMEOUT}s"
    sleep 0.2
  done
  log "jaeger: ready: OTLP http://$HOST:$JAEGER_OTLP_HTTP_PORT, query API http://$HOST:$JAEGER_QUERY_PORT/api/traces/TRACE_ID"
}

jaeger_down() {
  if ! jaeger_running; then log "jaeger: not running"; rm -f "$JAEGER_PID"; return 0; fi
  log "jaeger: stopping (its traces are in memory only and are gone)"
  proc_stop jaeger "$JAEGER_PID" bin/jaeger 15
}

jaeger_status() {
  if jaeger_running; then
    echo "jaeger       running  $HOST:$JAEGER_QUERY_PORT  (pid $(<"$JAEGER_PID"), $JAEGER_VERSION = v$JAEGER_IMAGE_VERSION, OTLP HTTP $HOST:$JAEGER_OTLP_HTTP_PORT gRPC $HOST:$JAEGER_OTLP_GRPC_PORT)"
  else
    echo "jaeger       stopped  $HOST:$JAEGER_QUERY_PORT  (optional: scripts/services.sh up jaeger)"
  fi
}

# =============================================================================================
# edge: HAProxy (Debian), the tier-aware edge in front of a gateway (deploy/edge/haproxy.cfg).
# Installed only: what it proxies to is a gateway process, so whoever runs one starts its edge
# (README, "Overload: the edge"; the tests and benchmarks start their own).
# =============================================================================================
EDGE_HAPROXY_SERIES=2.6
edge_bin() { command -v haproxy 2>/dev/null || { [[ -x /usr/sbin/haproxy ]] && echo /usr/sbin/haproxy; } || true; }
edge_version() { "$(edge_bin)" -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p'; }

edge_up() {
  if [[ -z $(edge_bin) ]]; then
    apt_install haproxy || fail edge "" "apt-get install haproxy failed (see the apt output above)"
  fi
  [[ -n $(edge_bin) ]] || fail edge "" "haproxy is not on PATH or in /usr/sbin after installing it"
  [[ $(edge_version) == "$EDGE_HAPROXY_SERIES".* ]] ||
    log "edge: haproxy $(edge_version) installed; deploy/edge/haproxy.cfg is checked on $EDGE_HAPROXY_SERIES"
  log "edge: haproxy $(edge_version) at $(edge_bin) (started per gateway with deploy/edge/haproxy.cfg)"
}

edge_down() { return 0; }

edge_status() {
  if [[ -n $(edge_bin) ]]; then
    echo "edge         installed  haproxy $(edge_version) at $(edge_bin)  (started per gateway: deploy/edge/haproxy.cfg)"
  else
    echo "edge         not installed  (scripts/services.sh up edge)"
  fi
}

# =============================================================================================
# env + dispatch
# =============================================================================================
env_lines() {
  if declare -F secure_env_lines >/dev/null; then secure_env_lines; return; fi
  if pg_running; then echo "export DATABASE_URL=postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DB"; fi
  if redis_running; then echo "export REDIS_URL=redis://$HOST:$REDIS_PORT"; fi
  if kafka_running; then echo "export KAFKA_BROKERS=$HOST:$KAFKA_PORT"; fi
  if sm_running; then
    echo "export STRIPE_API_BASE=http://$HOST:$STRIPE_MOCK_PORT"
    echo "export STRIPE_SECRET_KEY=$STRIPE_SECRET_KEY"
  fi
  if s3_running; then
    echo "export ARCHIVE_S3_ENDPOINT=http://$HOST:$S3_PORT"
    echo "export ARCHIVE_S3_BUCKET=$S3_BUCKET"
    echo "export ARCHIVE_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY"
    echo "export ARCHIVE_S3_SECRET_ACCESS_KEY=$S3_SECRET_KEY"
  fi
  if jaeger_running; then echo "export OTEL_EXPORTER_OTLP_ENDPOINT=http://$HOST:$JAEGER_OTLP_HTTP_PORT"; fi
  # Not exported: REDIS_URL and REDIS_CLUSTER_NODES exclude each other, and REDIS_URL is the default.
  if rc_running; then echo "# a Redis Cluster, to use instead of REDIS_URL: REDIS_CLUSTER_NODES=$(rc_nodes)"; fi
}

write_env_file() {
  {
    echo "# written by scripts/services.sh up at $(date -u +%FT%TZ): the services running then"
    env_lines
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# resolve_services ARGS...: validate names; none means all of ALL_SERVICES (in dependency-free
# start order; cmd_up passes DEFAULT_SERVICES instead)
resolve_services() {
  local s a ok
  if (($# == 0)); then printf '%s\n' "${ALL_SERVICES[@]}"; return; fi
  for a in "$@"; do
    ok=0
    for s in "${ALL_SERVICES[@]}"; do [[ $a == "$s" ]] && ok=1; done
    if ((ok == 0)); then
      echo "services.sh: unknown service '$a' (known: ${ALL_SERVICES[*]})" >&2
      exit 2
    fi
  done
  printf '%s\n' "$@"
}

svc_fn() {
  case $1 in
    postgres) echo pg ;;
    redis) echo redis ;;
    kafka) echo kafka ;;
    stripe-mock) echo sm ;;
    s3) echo s3 ;;
    edge) echo edge ;;
    jaeger) echo jaeger ;;
    redis-cluster) echo redis_cluster ;;
  esac
}

cmd_up() {
  local names s
  (($# > 0)) || set -- "${DEFAULT_SERVICES[@]}"
  names=$(resolve_services "$@")
  lock
  for s in $names; do "$(svc_fn "$s")_up"; done
  write_env_file
  log "all requested services are up; environment in $ENV_FILE"
}

cmd_down() {
  local names s reversed=()
  names=$(resolve_services "$@")
  lock
  for s in $names; do reversed=("$s" "${reversed[@]}"); done
  for s in "${reversed[@]}"; do "$(svc_fn "$s")_down"; done
}

cmd_status() {
  local s
  for s in "${ALL_SERVICES[@]}"; do "$(svc_fn "$s")_status"; done
  return 0
}

main() {
  local cmd=${1:-}
  (($# > 0)) && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    start | stop)
      (($# >= 1)) || { echo "services.sh: '$cmd' needs a service name (${ALL_SERVICES[*]})" >&2; exit 2; }
      if [[ $cmd == start ]]; then cmd_up "$@"; else cmd_down "$@"; fi
      ;;
    status) cmd_status ;;
    env) env_lines ;;
    certs)
      declare -F certs_ensure >/dev/null || { echo "services.sh: certs belongs to the secure profile (certs --secure)" >&2; exit 2; }
      lock
      certs_ensure
      ;;
    -h | --help | help) usage 0 ;;
    *)
      [[ -n $cmd ]] && echo "services.sh: unknown command '$cmd'" >&2
      usage 2
      ;;
  esac
}

main "${ARGS[@]}"
