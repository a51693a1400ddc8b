# shellcheck shell=bash
# The optional Redis Cluster of scripts/services.sh (`services.sh up redis-cluster`; a bare `up`
# does not start it): three masters and a replica of each, from the same Debian redis-server as
# the single Redis, each a plain daemonized process on 127.0.0.1, state under
# .services/redis-cluster/PORT. The first start joins them with `redis-cli --cluster create`;
# later starts find the cluster in each node's nodes.conf. Sourced by services.sh (its helpers:
# log, fail, proc_alive, proc_stop, pid_live, assert_port_free, redis_install).
#
#   masters  127.0.0.1:7001-7003   (16384 slots split in three)
#   replicas 127.0.0.1:7004-7006   (one per master: `CLUSTER FAILOVER` on one, or a master's
#                                   death, promotes it; README "Redis Cluster")

RC_DIR="$SVC_DIR/redis-cluster"

rc_ports() { local port; for ((port = REDIS_CLUSTER_FIRST_PORT; port < REDIS_CLUSTER_FIRST_PORT + REDIS_CLUSTER_NODES; port++)); do echo "$port"; done; }
rc_nodes() { rc_ports | sed "s/^/$HOST:/" | paste -sd, -; }
rc_masters() { rc_ports | head -n "$REDIS_CLUSTER_MASTERS" | sed "s/^/$HOST:/" | paste -sd, -; }
rc_pidfile() { echo "$RC_DIR/$1/redis.pid"; }
rc_node_running() { proc_alive "$(rc_pidfile "$1")" redis-server; }
rc_cli() { local port=$1; shift; redis-cli -h "$HOST" -p "$port" "${REDIS_CLI_OPTS[@]}" "$@"; }
rc_state() { rc_cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }

rc_running() {
  local port
  for port in $(rc_ports); do rc_node_running "$port" || return 1; done
}

rc_node_up() {
  local port=$1 dir="$RC_DIR/$1"
  mkdir -p "$dir"
  if rc_node_running "$port"; then return 0; fi
  assert_port_free redis-cluster "$port"
  # the cluster bus listens on port + 10000 (17001-17006)
  cat >"$dir/redis.conf" <<CONF
# written by scripts/services.sh on every start; edit scripts/services/redis-cluster.sh, not this file
bind $HOST
port $port
protected-mode yes
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
dbfilename dump.rdb
save ""
appendonly no
cluster-enabled yes
cluster-config-file nodes.conf
# a master silent this long is failed over to its replica (Redis's default is 15 s)
cluster-node-timeout $REDIS_CLUSTER_NODE_TIMEOUT_MS
# a replica's first sync starts at once (by default a master waits 5 s for more replicas to share it)
repl-diskless-sync-delay 0
CONF
  # the secure profile's TLS and ACL user (scripts/services/secure.sh); later lines win
  if declare -F redis_cluster_secure_conf >/dev/null; then redis_cluster_secure_conf "$port" >>"$dir/redis.conf"; fi
  redis-server "$dir/redis.conf" >>"$dir/redis.log" 2>&1 </dev/null 9>&- || fail redis-cluster "$dir/redis.log" "redis-server on port $port refused to start"
}

rc_wait() { # rc_wait WHAT CHECK...: until CHECK succeeds, or fail after REDIS_START_TIMEOUT
  local what=$1 deadline=$((SECONDS + REDIS_START_TIMEOUT))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || fail redis-cluster "$RC_DIR/*/redis.log" "$what within ${REDIS_START_TIMEOUT}s"
    sleep 0.2
  done
}

rc_all_ping() { local port; for port in $(rc_ports); do [[ $(rc_cli "$port" ping 2>/dev/null) == PONG ]] || return 1; done; }
rc_all_ok() { local port; for port in $(rc_ports); do [[ $(rc_state "$port" cluster_state) == ok ]] || return 1; done; }

redis_cluster_up() {
  redis_install
  local port
  for port in $(rc_ports); do rc_node_up "$port"; done
  rc_wait "not every node answered PING" rc_all_ping
  if [[ $(rc_state "$REDIS_CLUSTER_FIRST_PORT" cluster_known_nodes) == 1 ]]; then
    log "redis-cluster: creating the cluster ($REDIS_CLUSTER_MASTERS masters, $((REDIS_CLUSTER_NODES / REDIS_CLUSTER_MASTERS - 1)) replica each)"
    # shellcheck disable=SC2046
    redis-cli "${REDIS_CLI_OPTS[@]}" --cluster create $(rc_ports | sed "s/^/$HOST:/") --cluster-replicas $((REDIS_CLUSTER_NODES / REDIS_CLUSTER_MASTERS - 1)) --cluster-yes \
      >>"$RC_DIR/create.log" 2>&1 || fail redis-cluster "$RC_DIR/create.log" "redis-cli --cluster create failed"
  fi
  rc_wait "the cluster did not report cluster_state:ok on every node" rc_all_ok
  log "redis-cluster: ready, REDIS_CLUSTER_NODES=$(rc_nodes) (instead of REDIS_URL)"
}

redis_cluster_down() {
  local port pid pidf
  for port in $(rc_ports); do
    pidf=$(rc_pidfile "$port")
    if ! rc_node_running "$port"; then rm -f "$pidf"; continue; fi
    log "redis-cluster: stopping $HOST:$port"
    pid=$(<"$pidf")
    rc_cli "$port" shutdown save >/dev/null 2>&1 || rc_cli "$port" shutdown nosave >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 15))
    while pid_live "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    proc_stop redis-cluster "$pidf" redis-server 10
  done
}

redis_cluster_status() {
  if rc_running; then
    echo "redis-cluster running  $(rc_nodes)  ($(rc_state "$REDIS_CLUSTER_FIRST_PORT" cluster_state), masters $(rc_masters))"
  else
    echo "redis-cluster stopped  $(rc_nodes)  (optional: scripts/services.sh up redis-cluster)"
  fi
}
