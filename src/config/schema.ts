import { z } from 'zod';

/**
 * Every setting Tollgraph reads, with the form it expects. `.env.example` documents the same
 * names; a test keeps the two in step. Unset service URLs select the embedded stand-ins.
 */
const port = z.coerce
  .number({ error: 'a TCP port number (1-65535)' })
  .int({ error: 'a TCP port number (1-65535)' })
  .min(1, { error: 'a TCP port number (1-65535)' })
  .max(65535, { error: 'a TCP port number (1-65535)' });

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `${what} (a positive whole number)` })
    .int({ error: `${what} (a positive whole number)` })
    .positive({ error: `${what} (a positive whole number)` });

const nonNegativeInt = (what: string) =>
  z.coerce
    .number({ error: `${what} (a whole number, 0 or more)` })
    .int({ error: `${what} (a whole number, 0 or more)` })
    .min(0, { error: `${what} (a whole number, 0 or more)` });

const urlWithScheme = (schemes: string[], example: string) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { error: `a URL like ${example}` },
    );

const hostPortList = (error: string) =>
  z
    .string()
    .trim()
    .refine((value) => value.split(',').every((entry) => /^[^\s:,]+:\d{1,5}$/.test(entry.trim())), { error })
    .transform((value) => value.split(',').map((entry) => entry.trim()));

const brokerList = hostPortList('a comma-separated list of host:port, e.g. 127.0.0.1:9092');

/** Seed nodes of a Redis Cluster: ioredis learns the rest of the cluster from any one of them. */
const clusterNodes = hostPortList('a comma-separated list of host:port of Redis Cluster nodes, e.g. 127.0.0.1:7001,127.0.0.1:7002');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const accountIds = z
  .string()
  .trim()
  .refine((value) => value.split(',').every((id) => UUID.test(id.trim())), { error: 'a comma-separated list of account ids (UUIDs)' })
  .transform((value) => value.split(',').map((id) => id.trim().toLowerCase()));

const boolean = z.enum(['true', 'false', '1', '0'], { error: 'true or false' }).transform((value) => value === 'true' || value === '1');

const filePath = z.string().trim().min(1, { error: 'a file path' });

/** Empty strings mean "unset", as in most .env tooling. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'development, production or test' }).default('development'),
    HOST: z.string().trim().min(1, { error: 'a host name or IP address' }).default('127.0.0.1'),
    PORT: port.default(4000),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    LOG_PRETTY: optional(boolean),
    DATA_DIR: z.string().trim().min(1, { error: 'a directory path' }).default('.data'),
    DATABASE_URL: optional(urlWithScheme(['postgres', 'postgresql'], 'postgresql://user:pass@127.0.0.1:5432/tollgraph')),
    DATABASE_POOL_SIZE: positiveInt('pool size').default(10),
    MIGRATE_ON_START: boolean.default(true),
    GRAPHQL_INTROSPECTION: boolean.default(true),
    REDIS_URL: optional(urlWithScheme(['redis', 'rediss'], 'redis://127.0.0.1:6379')),
    REDIS_CLUSTER_NODES: optional(clusterNodes),
    /** TLS to every node of the cluster (`rediss://` is how REDIS_URL says it for one server). */
    REDIS_CLUSTER_TLS: boolean.default(false),
    /** The cluster's ACL user and password (REDIS_URL carries them for one server). */
    REDIS_CLUSTER_USERNAME: optional(z.string()),
    REDIS_CLUSTER_PASSWORD: optional(z.string()),
    REDIS_TLS_CA_FILE: optional(filePath),
    REDIS_KEY_PREFIX: z.string().default('tg:'),
    LIMITS_REDIS_DOWN_POLICY: z.enum(['insurance', 'fail-closed', 'fail-open'], { error: 'insurance, fail-closed or fail-open' }).default('insurance'),
    LIMITS_INSURANCE_SHARE: z.coerce
      .number({ error: 'a fraction between 0 and 1, e.g. 0.5' })
      .gt(0, { error: 'a fraction between 0 and 1, e.g. 0.5' })
      .max(1, { error: 'a fraction between 0 and 1, e.g. 0.5' })
      .default(0.5),
    LIMITS_MAX_LEASE: nonNegativeInt('cost units (0: a Redis round trip for every request)').default(1000),
    AUTH_FAILURES_PER_MINUTE: positiveInt('failed authentications per client address per minute').default(30),
    ANONYMOUS_REQUESTS_PER_MINUTE: positiveInt('requests without a key per client address per minute').default(600),
    FREE_FIELDS_PER_SECOND: positiveInt('free fields per account per second per gateway process')
      .min(20, { error: 'free fields per account per second, at least 20 (the most root fields one request may select)' })
      .default(100),
    HTTP_REQUEST_TIMEOUT_MS: positiveInt('milliseconds').default(15_000),
    OVERLOAD_SHEDDING: boolean.default(true),
    DEDICATED_ACCOUNTS: optional(accountIds),
    OVERLOAD_MAX_IN_FLIGHT: positiveInt('requests in flight per gateway process').default(512),
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: positiveInt('milliseconds').default(50),
    OVERLOAD_CONCURRENCY: nonNegativeInt('requests running at once per gateway process (0: no limit)').default(0),
    OVERLOAD_MAX_QUEUE_MS: positiveInt('milliseconds').default(100),
    EDGE_RUNTIME_API: optional(
      z
        .string()
        .trim()
        .regex(/^[^\s:,]+:\d{1,5}$/, { error: "host:port of the edge's runtime API, e.g. 127.0.0.1:9999" }),
    ),
    EDGE_PRIORITY_MAP: optional(filePath),
    EDGE_RESYNC_MS: positiveInt('milliseconds').default(30_000),
    EDGE_GATEWAY_MAXCONN: optional(positiveInt("requests this process runs at once, as the edge's EDGE_GATEWAY_MAXCONN")),
    EDGE_ENTERPRISE_RESERVE: nonNegativeInt('slots of EDGE_GATEWAY_MAXCONN kept for ENTERPRISE while it is active (0: none)').default(0),
    EDGE_RESERVE_IDLE_MS: positiveInt('milliseconds').default(5_000),
    EDGE_SERVER: z
      .string()
      .trim()
      .regex(/^[\w.-]+\/[\w.-]+$/, { error: "this process's server in the edge's configuration, backend/server, e.g. gateway/gateway" })
      .default('gateway/gateway'),
    METERING_FLUSH_MS: positiveInt('milliseconds').default(5),
    METERING_MAX_BATCH: positiveInt('records').max(5000, { error: 'records (at most 5000)' }).default(500),
    METERING_SPOOL_DIR: optional(z.string().trim().min(1, { error: 'a directory path on a persistent local disk' })),
    METERING_SPOOL_SHIP_MS: positiveInt('milliseconds').default(250),
    METERING_SPOOL_FSYNC_MS: nonNegativeInt('milliseconds (0: every answer waits for its record to be on disk)').default(0),
    METERING_SPOOL_MEMORY_DIR: optional(z.string().trim().min(1, { error: 'a directory path in memory (tmpfs), e.g. /dev/shm/tollgraph-spool' })),
    METERING_SPOOL_STALE_MS: positiveInt('milliseconds').min(5_000, { error: 'milliseconds, at least 5000' }).default(60_000),
    PUBLIC_URL: optional(urlWithScheme(['http', 'https'], 'https://api.example.com')),
    STRIPE_METER_EVENT_NAME: z
      .string()
      .regex(/^[a-z][a-z0-9_]{2,99}$/, { error: 'a meter event name: lower-case letters, digits and _' })
      .default('tollgraph_cost_units'),
    STRIPE_METER_EVENTS_PER_SECOND: positiveInt('meter events per second').default(20),
    BILLING_SYNC_INTERVAL_MS: positiveInt('milliseconds').default(5000),
    BILLING_SYNC_IN_GATEWAY: boolean.default(true),
    KAFKA_BROKERS: optional(brokerList),
    KAFKA_CLIENT_ID: z.string().trim().min(1).default('tollgraph'),
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    KAFKA_SSL: boolean.default(false),
    KAFKA_SSL_CA_FILE: optional(filePath),
    KAFKA_SSL_CERT_FILE: optional(filePath),
    KAFKA_SSL_KEY_FILE: optional(filePath),
    KAFKA_SSL_KEY_PASSWORD: optional(z.string()),
    KAFKA_SASL_MECHANISM: optional(
      z.preprocess(
        (value) => (typeof value === 'string' ? value.trim().toUpperCase() : value),
        z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], { error: 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512' }),
      ),
    ),
    KAFKA_SASL_USERNAME: optional(z.string().trim().min(1, { error: 'a user name' })),
    KAFKA_SASL_PASSWORD: optional(z.string().min(1, { error: 'a password' })),
    TRANSACTIONS_PARTITIONS: positiveInt('partition count').default(10),
    RISK_CONSUMER_GROUP: z.string().trim().min(1, { error: 'a consumer group name' }).default('risk-scorer'),
    RISK_CONSUMER_CONCURRENCY: positiveInt('partitions processed at once').default(10),
    RISK_SESSION_TIMEOUT_MS: positiveInt('milliseconds (the broker allows 6000-300000 by default)').default(10000),
    RISK_MAX_EVENT_BYTES: positiveInt('bytes').default(4096),
    RISK_SCORES_FORMAT: z.enum(['json', 'avro'], { error: 'json or avro' }).default('json'),
    RISK_SCORES_COMPRESSION: z.enum(['lz4', 'gzip', 'none'], { error: 'lz4, gzip or none' }).default('lz4'),
    RISK_QUALITY_INTERVAL_MS: positiveInt('milliseconds').default(30000),
    RISK_CHECKPOINT_INTERVAL_MS: nonNegativeInt('milliseconds').default(1000),
    RISK_CHECKPOINT_EVENTS: positiveInt('events').default(100000),
    RISK_FETCH_LINGER_MS: nonNegativeInt('milliseconds').max(1_000, { error: 'milliseconds, at most 1000' }).default(5),
    RISK_SINK_LINGER_MS: nonNegativeInt('milliseconds').max(1_000, { error: 'milliseconds, at most 1000' }).default(20),
    ARCHIVE_DIR: optional(z.string().trim().min(1, { error: 'a directory path' })),
    ARCHIVE_S3_BUCKET: optional(
      z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)' }),
    ),
    ARCHIVE_S3_ENDPOINT: optional(urlWithScheme(['http', 'https'], 'http://127.0.0.1:7070 (unset: AWS S3 in ARCHIVE_S3_REGION)')),
    ARCHIVE_S3_REGION: z.string().trim().min(1, { error: 'an S3 region, e.g. eu-west-1' }).default('us-east-1'),
    ARCHIVE_S3_ACCESS_KEY_ID: optional(z.string().trim().min(1, { error: 'an access key id' })),
    ARCHIVE_S3_SECRET_ACCESS_KEY: optional(z.string().min(1, { error: 'a secret access key' })),
    ARCHIVE_PREFIX: z
      .string()
      .regex(/^([a-zA-Z0-9._-]+\/)*$/, { error: 'an object key prefix ending with / (or empty), e.g. tollgraph/' })
      .default(''),
    ARCHIVE_CONSUMER_GROUP: z.string().trim().min(1, { error: 'a consumer group name' }).default('archiver'),
    ARCHIVE_SEGMENT_EVENTS: positiveInt('events per archive object').default(100000),
    ARCHIVE_SEGMENT_MAX_AGE_MS: positiveInt('milliseconds').default(60000),
    HISTORY_RETENTION_DAYS: optional(positiveInt('days')),
    ANALYTICS_URL: optional(urlWithScheme(['http', 'https'], 'http://127.0.0.1:9480')),
    ANALYTICS_MAX_RANGE_DAYS: positiveInt('days').default(31),
    FEED_RATE: z.coerce.number({ error: 'events per second (0 turns the feed off)' }).min(0, { error: 'events per second (0 turns the feed off)' }).default(10),
    FEED_CUSTOMERS: positiveInt('customer count').default(5000),
    STRIPE_SECRET_KEY: optional(z.string().regex(/^(sk|rk)_(test|live)_\w+$/, { error: 'a Stripe secret key, sk_test_… or sk_live_…' })),
    STRIPE_API_BASE: optional(urlWithScheme(['http', 'https'], 'http://127.0.0.1:12111')),
    STRIPE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_\w+$/, { error: 'a webhook signing secret, whsec_…' })),
    STRIPE_WEBHOOK_TOLERANCE_SECONDS: positiveInt('seconds').default(300),
    STRIPE_WEBHOOK_MAX_BYTES: positiveInt('bytes').default(1_048_576),
    BILLING_PAST_DUE_GRACE_DAYS: z.coerce
      .number({ error: 'days (0 or more; fractions allowed, e.g. 0.5)' })
      .min(0, { error: 'days (0 or more; fractions allowed, e.g. 0.5)' })
      .default(7),
    BILLING_GRACE_CHECK_INTERVAL_MS: positiveInt('milliseconds').default(60_000),
    OTEL_SDK_DISABLED: boolean.default(false),
    OTEL_EXPORTER_OTLP_ENDPOINT: optional(urlWithScheme(['http', 'https'], 'http://127.0.0.1:4318')),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(urlWithScheme(['http', 'https'], 'http://127.0.0.1:4318/v1/traces')),
    OTEL_SERVICE_NAME: optional(z.string().trim().min(1, { error: 'a service name' })),
    OTEL_TRACES_SAMPLER: z
      .enum(['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio'], {
        error: 'parentbased_always_on, parentbased_always_off, parentbased_traceidratio, always_on, always_off or traceidratio',
      })
      .default('parentbased_always_on'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce
      .number({ error: 'a sampling ratio between 0 and 1, e.g. 0.01' })
      .min(0, { error: 'a sampling ratio between 0 and 1, e.g. 0.01' })
      .max(1, { error: 'a sampling ratio between 0 and 1, e.g. 0.01' })
      .default(1),
    OTEL_BSP_SCHEDULE_DELAY: positiveInt('milliseconds').default(5000),
    READINESS_TIMEOUT_MS: positiveInt('milliseconds').default(1000),
    READINESS_CACHE_MS: nonNegativeInt('milliseconds (0: every probe checks)').default(1000),
    METRICS_TOKEN: optional(z.string().trim().min(16, { error: 'a bearer token of at least 16 characters' })),
    SHUTDOWN_TIMEOUT_MS: positiveInt('milliseconds').default(15000),
  })
  .superRefine((config, context) => {
    // Settings that only mean something together: each half alone is a mistake, not a default.
    const need = (name: keyof typeof config, message: string) => context.addIssue({ code: 'custom', path: [name], message });
    for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_KEY_PASSWORD'] as const) {
      if (config[name] !== undefined && !config.KAFKA_SSL) need(name, 'KAFKA_SSL=true alongside it (the TLS files are used only over TLS)');
    }
    if (Boolean(config.KAFKA_SSL_CERT_FILE) !== Boolean(config.KAFKA_SSL_KEY_FILE)) {
      need(
        config.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE',
        'the client certificate and its key together (KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE)',
      );
    }
    if (config.KAFKA_SASL_MECHANISM) {
      if (!config.KAFKA_SASL_USERNAME) need('KAFKA_SASL_USERNAME', `a user name, as KAFKA_SASL_MECHANISM is ${config.KAFKA_SASL_MECHANISM}`);
      if (!config.KAFKA_SASL_PASSWORD)
        need('KAFKA_SASL_PASSWORD', `a password (or KAFKA_SASL_PASSWORD_FILE), as KAFKA_SASL_MECHANISM is ${config.KAFKA_SASL_MECHANISM}`);
    } else {
      for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
        if (config[name] !== undefined) need(name, 'KAFKA_SASL_MECHANISM alongside it (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)');
      }
    }
    if (config.ARCHIVE_DIR && config.ARCHIVE_S3_BUCKET) need('ARCHIVE_DIR', 'either ARCHIVE_DIR (a local directory) or ARCHIVE_S3_BUCKET, not both');
    if (Boolean(config.ARCHIVE_S3_ACCESS_KEY_ID) !== Boolean(config.ARCHIVE_S3_SECRET_ACCESS_KEY)) {
      need(
        config.ARCHIVE_S3_ACCESS_KEY_ID ? 'ARCHIVE_S3_SECRET_ACCESS_KEY' : 'ARCHIVE_S3_ACCESS_KEY_ID',
        'the access key id and its secret together (or neither: the AWS default credential chain)',
      );
    }
    if (config.HISTORY_RETENTION_DAYS && !config.ARCHIVE_DIR && !config.ARCHIVE_S3_BUCKET)
      need('HISTORY_RETENTION_DAYS', 'an archive (ARCHIVE_S3_BUCKET or ARCHIVE_DIR): history leaves PostgreSQL only once archived, and is read from there');
    if (config.REDIS_TLS_CA_FILE && !config.REDIS_URL?.startsWith('rediss:') && !config.REDIS_CLUSTER_TLS)
      need('REDIS_TLS_CA_FILE', 'a rediss:// REDIS_URL or REDIS_CLUSTER_TLS=true alongside it (the CA is used only over TLS)');
    for (const name of ['REDIS_CLUSTER_TLS', 'REDIS_CLUSTER_USERNAME', 'REDIS_CLUSTER_PASSWORD'] as const)
      if (config[name] && !config.REDIS_CLUSTER_NODES)
        need(name, 'REDIS_CLUSTER_NODES alongside it (it applies to a Redis Cluster; REDIS_URL carries its own)');
    if (config.REDIS_CLUSTER_USERNAME && config.REDIS_CLUSTER_PASSWORD === undefined) need('REDIS_CLUSTER_PASSWORD', 'the password of REDIS_CLUSTER_USERNAME');
    if (Boolean(config.EDGE_RUNTIME_API) !== Boolean(config.EDGE_PRIORITY_MAP))
      need(
        config.EDGE_RUNTIME_API ? 'EDGE_PRIORITY_MAP' : 'EDGE_RUNTIME_API',
        "the edge's runtime API and its priority map together (EDGE_RUNTIME_API and EDGE_PRIORITY_MAP)",
      );
    if (config.EDGE_ENTERPRISE_RESERVE > 0) {
      if (!config.EDGE_RUNTIME_API) need('EDGE_ENTERPRISE_RESERVE', "the edge's runtime API alongside it (EDGE_RUNTIME_API and EDGE_PRIORITY_MAP)");
      if (config.EDGE_GATEWAY_MAXCONN === undefined)
        need('EDGE_GATEWAY_MAXCONN', 'the maxconn the edge gives this process, when EDGE_ENTERPRISE_RESERVE is set');
      else if (config.EDGE_ENTERPRISE_RESERVE >= config.EDGE_GATEWAY_MAXCONN)
        need('EDGE_ENTERPRISE_RESERVE', `fewer slots than EDGE_GATEWAY_MAXCONN (${config.EDGE_GATEWAY_MAXCONN}): the other plans keep at least one`);
    }
    if (config.METERING_SPOOL_MEMORY_DIR) {
      if (!config.METERING_SPOOL_DIR) need('METERING_SPOOL_MEMORY_DIR', 'METERING_SPOOL_DIR alongside it (the disk the segments in memory are mirrored to)');
      else if (config.METERING_SPOOL_FSYNC_MS === 0)
        need('METERING_SPOOL_FSYNC_MS', 'milliseconds above 0 with METERING_SPOOL_MEMORY_DIR (how often the segment in memory reaches the disk)');
    }
    if (config.REDIS_CLUSTER_NODES && config.REDIS_URL)
      need('REDIS_CLUSTER_NODES', 'either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigName = keyof Config;
