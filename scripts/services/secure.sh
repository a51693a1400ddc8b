# shellcheck shell=bash
# The `secure` profile of scripts/services.sh (`services.sh up --secure`, or SERVICES_PROFILE=secure):
# PostgreSQL, Redis and Kafka as production runs them, with TLS and authentication on every
# connection, beside the default (plaintext) set: their own ports, their own data folder
# (.services/secure), certificates made here with openssl. Sourced by services.sh before its
# paths are derived; the hooks below are called from its postgres/redis/kafka functions.
#
#   postgres  127.0.0.1:5433  ssl=on, TLS only (hostssl; plaintext is rejected), scram-sha-256
#   redis     127.0.0.1:6380  TLS only (no plaintext port), ACL user `tollgraph`, `default` off
#   kafka     127.0.0.1:9094  SASL_SSL: SCRAM-SHA-256/512 and a client certificate (mutual TLS),
#                             like an MSK cluster with both; users made at format time
#   redis-cluster 127.0.0.1:7101-7106 (optional: `up --secure redis-cluster`): 3 masters + 3
#                             replicas, TLS only (clients, replication and the cluster bus), the
#                             same ACL user, like a managed cluster with in-transit encryption
#
# Certificates (.services/secure/certs, made once, valid 825 days): ca.crt signs server.crt
# (127.0.0.1 and localhost) and client.crt (CN=tollgraph, for mutual TLS).

# ---- addresses, credentials (keep docker-compose.yml's `secure` profile in step) -------------
SECURE_PG_PORT=5433
SECURE_REDIS_PORT=6380
SECURE_KAFKA_PORT=9094
SECURE_KAFKA_CONTROLLER_PORT=9095
SECURE_PASSWORD=tollgraph-tls
SECURE_KAFKA_ADMIN=admin
SECURE_KAFKA_ADMIN_PASSWORD=admin-tls
SECURE_KAFKA_MECHANISM=SCRAM-SHA-512
SECURE_REDIS_CLUSTER_FIRST_PORT=7101
CERT_DAYS=825

SVC_DIR="${SERVICES_DIR:-$ROOT/.services/secure}"
# the Kafka jars of the default profile (the same pom), not a second download
SHARED_KAFKA_LIBS="$ROOT/.services/kafka/libs"
PG_PORT=$SECURE_PG_PORT
PG_PASSWORD=$SECURE_PASSWORD
REDIS_PORT=$SECURE_REDIS_PORT
KAFKA_PORT=$SECURE_KAFKA_PORT
KAFKA_CONTROLLER_PORT=$SECURE_KAFKA_CONTROLLER_PORT
REDIS_CLUSTER_FIRST_PORT=$SECURE_REDIS_CLUSTER_FIRST_PORT
ALL_SERVICES=(postgres redis kafka redis-cluster)
DEFAULT_SERVICES=(postgres redis kafka)
CERT_DIR="$SVC_DIR/certs"
REDIS_CLI_OPTS=(--tls --cacert "$CERT_DIR/ca.crt" --user tollgraph --pass "$SECURE_PASSWORD" --no-auth-warning)
KAFKA_FORMAT_ARGS=(
  --add-scram "SCRAM-SHA-512=[name=$SECURE_KAFKA_ADMIN,password=$SECURE_KAFKA_ADMIN_PASSWORD]"
  --add-scram "SCRAM-SHA-512=[name=tollgraph,password=$SECURE_PASSWORD]"
  --add-scram "SCRAM-SHA-256=[name=tollgraph,password=$SECURE_PASSWORD]"
)

# ---- certificates ----------------------------------------------------------------------------
# cert_sign NAME SUBJECT EXTENSIONS: NAME.key (PKCS#8, unencrypted) and NAME.crt signed by ca.
cert_sign() {
  local name=$1 subject=$2 extensions=$3
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CERT_DIR/$name.key" 2>/dev/null
  openssl req -new -key "$CERT_DIR/$name.key" -subj "$subject" -out "$CERT_DIR/$name.csr" 2>/dev/null
  printf '%s\n' "$extensions" >"$CERT_DIR/$name.ext"
  openssl x509 -req -in "$CERT_DIR/$name.csr" -CA "$CERT_DIR/ca.crt" -CAkey "$CERT_DIR/ca.key" -CAcreateserial \
    -days "$CERT_DAYS" -sha256 -extfile "$CERT_DIR/$name.ext" -out "$CERT_DIR/$name.crt" 2>/dev/null
  rm -f "$CERT_DIR/$name.csr" "$CERT_DIR/$name.ext"
  # Java's PEM key store: the key and its certificate in one file
  cat "$CERT_DIR/$name.key" "$CERT_DIR/$name.crt" >"$CERT_DIR/$name.pem"
  chmod 600 "$CERT_DIR/$name.key" "$CERT_DIR/$name.pem"
}

# Made once; made again (all of them) when any is missing or expires within a day.
certs_ensure() {
  command -v openssl >/dev/null || apt_install openssl || fail certs "" "apt-get install openssl failed"
  local f fresh=1
  for f in ca server client; do
    if [[ ! -s $CERT_DIR/$f.crt ]] || ! openssl x509 -checkend 86400 -noout -in "$CERT_DIR/$f.crt" >/dev/null 2>&1; then fresh=0; fi
  done
  ((fresh)) && return 0
  log "certs: making a CA, a server and a client certificate in $CERT_DIR"
  rm -rf "$CERT_DIR"
  mkdir -p "$CERT_DIR"
  chmod 755 "$CERT_DIR"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CERT_DIR/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$CERT_DIR/ca.key" -subj "/CN=Tollgraph local CA" -days "$CERT_DAYS" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$CERT_DIR/ca.crt" 2>/dev/null || fail certs "" "openssl could not make the CA"
  chmod 600 "$CERT_DIR/ca.key"
  # the broker is also a client of itself (inter-broker listener, mutual TLS): serverAuth + clientAuth
  cert_sign server "/CN=localhost" "$(printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth,clientAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost')"
  cert_sign client "/CN=tollgraph" "$(printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=clientAuth')"
  [[ -s $CERT_DIR/server.crt && -s $CERT_DIR/client.crt ]] || fail certs "" "openssl could not sign the certificates"
}

# ---- hooks called by services.sh -------------------------------------------------------------
# postgres: TLS on, every TCP connection must be TLS; the key readable only by the server's user
pg_secure_prepare() {
  certs_ensure
  local tls=$PG_DIR/tls
  mkdir -p "$tls"
  cp "$CERT_DIR/server.crt" "$CERT_DIR/server.key" "$CERT_DIR/ca.crt" "$tls/"
  chmod 600 "$tls/server.key"
  cat >"$PG_DIR/pg_hba.conf" <<EOF
# written by scripts/services.sh (secure profile): TLS only over TCP
local     all  all                 trust
hostssl   all  all  $HOST/32       scram-sha-256
hostnossl all  all  0.0.0.0/0      reject
EOF
  cat >>"$PG_DATA/tollgraph.conf" <<EOF
# secure profile
ssl = on
ssl_cert_file = '$tls/server.crt'
ssl_key_file = '$tls/server.key'
ssl_ca_file = '$tls/ca.crt'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
hba_file = '$PG_DIR/pg_hba.conf'
EOF
  if is_root; then chown -R postgres:postgres "$tls" "$PG_DIR/pg_hba.conf"; fi
}

# redis_tls_only PORT: no plaintext port, TLS on PORT with the server certificate, one ACL user
redis_tls_only() {
  certs_ensure
  cat <<EOF
# secure profile: these override the lines above
port 0
tls-port $1
tls-cert-file $CERT_DIR/server.crt
tls-key-file $CERT_DIR/server.key
tls-ca-cert-file $CERT_DIR/ca.crt
tls-auth-clients optional
user default off
user tollgraph on >$SECURE_PASSWORD ~* &* +@all
EOF
}

# redis
redis_secure_conf() { redis_tls_only "$REDIS_PORT"; }

# redis-cluster NODE_PORT: the same, and TLS for replicas and the cluster bus too
redis_cluster_secure_conf() {
  redis_tls_only "$1"
  cat <<EOF
cluster-port $(($1 + 10000))
tls-cluster yes
tls-replication yes
masteruser tollgraph
masterauth $SECURE_PASSWORD
EOF
}

# kafka: one SASL_SSL listener (SCRAM + required client certificate), also between brokers
kafka_secure_conf() {
  certs_ensure
  cat <<EOF
# secure profile: these override the lines above
listeners=SECURE://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=SECURE://$HOST:$KAFKA_PORT
listener.security.protocol.map=SECURE:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SECURE
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
# one login module per enabled mechanism (the broker's own credentials; clients' are checked against the SCRAM users)
listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SECURE_KAFKA_ADMIN" password="$SECURE_KAFKA_ADMIN_PASSWORD";
listener.name.secure.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SECURE_KAFKA_ADMIN" password="$SECURE_KAFKA_ADMIN_PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$CERT_DIR/server.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CERT_DIR/ca.crt
# (without the listener prefix Kafka applies it to SSL listeners only, not SASL_SSL)
listener.name.secure.ssl.client.auth=required
EOF
}

# the command-line tools (readiness check) connect as tollgraph, like the application
kafka_secure_admin_conf() {
  cat <<EOF
security.protocol=SASL_SSL
sasl.mechanism=$SECURE_KAFKA_MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="tollgraph" password="$SECURE_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$CERT_DIR/ca.crt
ssl.keystore.type=PEM
ssl.keystore.location=$CERT_DIR/client.pem
EOF
}

# what `services.sh env --secure` prints: the Tollgraph settings for these services
secure_env_lines() {
  if pg_running; then echo "export DATABASE_URL='postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DB?sslmode=verify-full&sslrootcert=$CERT_DIR/ca.crt'"; fi
  if redis_running; then
    echo "export REDIS_URL=rediss://tollgraph:$SECURE_PASSWORD@$HOST:$REDIS_PORT"
    echo "export REDIS_TLS_CA_FILE=$CERT_DIR/ca.crt"
  fi
  if kafka_running; then
    echo "export KAFKA_BROKERS=$HOST:$KAFKA_PORT"
    echo "export KAFKA_SSL=true"
    echo "export KAFKA_SSL_CA_FILE=$CERT_DIR/ca.crt"
    echo "export KAFKA_SSL_CERT_FILE=$CERT_DIR/client.crt"
    echo "export KAFKA_SSL_KEY_FILE=$CERT_DIR/client.key"
    echo "export KAFKA_SASL_MECHANISM=$SECURE_KAFKA_MECHANISM"
    echo "export KAFKA_SASL_USERNAME=tollgraph"
    echo "export KAFKA_SASL_PASSWORD=$SECURE_PASSWORD"
  fi
  # Not exported, as in the default profile: REDIS_URL and REDIS_CLUSTER_NODES exclude each other.
  if rc_running; then
    echo "# a Redis Cluster, to use instead of REDIS_URL: REDIS_CLUSTER_NODES=$(rc_nodes) REDIS_CLUSTER_TLS=true REDIS_CLUSTER_USERNAME=tollgraph REDIS_CLUSTER_PASSWORD=$SECURE_PASSWORD REDIS_TLS_CA_FILE=$CERT_DIR/ca.crt"
  fi
}
