import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from './config/schema';
import { openDatabase, type Database } from './db/client';
import { createKafka } from './kafka/client';
import { kafkaSecurity } from './kafka/security';
import { checkKafka, checkPostgres, checkRedis, tlsHandshake } from './ops/startup-checks';
import { redisTls } from './config/tls';
import type { Logger } from './ops/logger';
import { createMetrics, type Metrics } from './ops/metrics';
import type { DependencyCheck } from './ops/readiness';
import { AccountService } from './accounts/service';
import { AnalyticsService } from './analytics/service';
import { archivedHistoryFor } from './archive/scores';
import { KeyService } from './keys/service';
import { EdgePriorities } from './limits/edge';
import { FreeFieldLimit } from './limits/free-fields';
import { AbuseGuard } from './limits/abuse';
import { QuotaAlerts } from './limits/alerts';
import { memoryLimiters, redisLimiters } from './limits/limiter-factory';
import { edgeMetrics, registerLimitMetrics, reservationCounter } from './limits/metrics';
import { LeaseBook } from './limits/lease-book';
import { LEASE_GRACE_MS, LEASE_SHARE, QuotaLeaseStore } from './limits/leases';
import { BURST_WINDOW_SEC, DAILY_KEY_TTL_SEC } from './limits/quota-window';
import { LimitService } from './limits/service';
import { insertUsageJson, UsageLedger } from './metering/ledger';
import { rebuildRollups } from './metering/rollups';
import { UsageSpool } from './metering/spool';
import { UsageService } from './metering/usage';
import { ledgerMetrics, spoolMetrics } from './metering/metrics';
import { AuditTrail } from './audit/audit';
import { BillingService } from './billing/service';
import { createStripe, type Stripe } from './billing/stripe-client';
import { StripeWebhooks } from './billing/webhooks/service';
import { PlanCatalog } from './plans/service';
import { ProductAccess } from './catalog/product-access';
import { ProductRevenue } from './billing/revenue';
import { DataProductCatalog } from './catalog/service';
import { SchemaRegistry } from './catalog/registry/service';
import { memoryPubSub, redisPubSub, type PubSub } from './pubsub/pubsub';
import { connectConfiguredRedis, redisConfigured } from './redis/client';
import { RiskService } from './risk/service';
import { SlaRecorder } from './sla/recorder';
import { SlaService } from './sla/service';

/**
 * Everything built once per process and passed through the request context: no resolver or
 * plugin constructs a client. Unset service URLs select the embedded stand-ins.
 */
export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  redis?: Redis;
  kafka?: Kafka;
  /** Fan-out to every gateway process (Redis), or within this one (embedded). */
  pubsub: PubSub;
  plans: PlanCatalog;
  /** The data-product catalogue. */
  catalog: DataProductCatalog;
  /** Who may read which data product (plan or add-on), for the guard; the products' terms, cached. */
  productAccess: ProductAccess;
  /** Usage and revenue per data product, domain and month (admins, publishers). */
  productRevenue: ProductRevenue;
  /** The catalogue's Avro schema registry (Confluent-compatible REST under /registry). */
  registry: SchemaRegistry;
  accounts: AccountService;
  keys: KeyService;
  /** Risk scores for the API: latest, history, live updates (src/risk). */
  risk: RiskService;
  /** Questions over the archive, asked of the analytics worker (src/analytics). */
  analytics: AnalyticsService;
  limits: LimitService;
  ledger: UsageLedger;
  /** Usage per hour or day, as subscribers and admins read it. */
  usage: UsageService;
  /** Undefined while billing is off (no STRIPE_SECRET_KEY): usage is still recorded, as pending. */
  stripe?: Stripe;
  /** Stripe webhook events: store-and-apply, admin listing and re-apply, grace-period checks. */
  stripeWebhooks: StripeWebhooks;
  /** Checkout, billing portal, subscriptions, reconciliation and meter reports. */
  billing: BillingService;
  quotaAlerts: QuotaAlerts;
  abuse: AbuseGuard;
  /** The tier-aware edge's priority map, kept in step (EDGE_RUNTIME_API); unset without an edge. */
  edge?: EdgePriorities;
  /** Per account and process: fields that cost no units, at most FREE_FIELDS_PER_SECOND. */
  freeFields: FreeFieldLimit;
  /** Service levels: every answered request counted per account (src/sla). */
  sla: SlaService;
  audit: AuditTrail;
  /** Dependencies `/readyz` checks: exactly the configured ones. */
  readiness: DependencyCheck[];
  /** Closes clients in reverse order of opening. */
  close(): Promise<void>;
}

/** How often each process adds its SLA counts to the database: what a kill -9 can lose (one statement a second costs nothing). */
const SLA_FLUSH_MS = 1_000;
/** The longest the start waits for Redis's first answer (its connect timeout is 2 s). */
const REDIS_START_CHECK_MS = 3_000;

/** For a cluster over TLS, a handshake with its first seed node (what checkRedis asks when the cluster only says its connection closed). */
function clusterTlsProbe(config: Config): (() => Promise<void>) | undefined {
  const tls = config.REDIS_CLUSTER_NODES && redisTls(config);
  if (!tls) return undefined;
  const seed = config.REDIS_CLUSTER_NODES![0];
  const at = seed.lastIndexOf(':');
  return () => tlsHandshake(seed.slice(0, at), Number(seed.slice(at + 1)), tls, REDIS_START_CHECK_MS);
}

/**
 * Every configured service is tried once, together, before anything is built on them: a
 * certificate or password one refuses stops the start there, naming the service and the cause
 * (src/ops/startup-checks.ts), with nothing half-started. All are waited for, so none is still
 * connecting while the caller closes them.
 */
async function checkServices(
  logger: Logger,
  db: Database,
  redis: Redis | undefined,
  kafka: Kafka | undefined,
  clusterTlsProbe?: () => Promise<void>,
): Promise<void> {
  const results = await Promise.allSettled([
    db.kind === 'postgres' ? checkPostgres(() => db.pool.query('SELECT 1')) : undefined,
    redis ? checkRedis(redis, REDIS_START_CHECK_MS, logger, clusterTlsProbe) : undefined,
    kafka ? checkKafka(kafka, logger) : undefined,
  ]);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function buildServices(config: Config, logger: Logger): Promise<Services> {
  const closers: Array<() => Promise<unknown>> = [];
  const readiness: DependencyCheck[] = [];

  const db = await openDatabase(
    config.DATABASE_URL
      ? {
          url: config.DATABASE_URL,
          poolSize: config.DATABASE_POOL_SIZE,
          onPoolError: (error) => logger.warn({ err: error }, 'idle Postgres connection failed'),
        }
      : { dataDir: config.DATA_DIR },
  );
  closers.push(() => db.close());
  readiness.push({ name: db.kind === 'postgres' ? 'postgres' : 'embedded-postgres', check: () => db.ping() });

  let redis: Redis | undefined;
  if (redisConfigured(config)) {
    const client = connectConfiguredRedis(config, logger);
    redis = client;
    closers.push(() => client.quit().catch(() => client.disconnect()));
    // Under the insurance and fail-open policies the gateway keeps serving without Redis.
    readiness.push({ name: 'redis', check: async () => void (await client.ping()), critical: config.LIMITS_REDIS_DOWN_POLICY === 'fail-closed' });
  }

  let kafka: Kafka | undefined;
  if (config.KAFKA_BROKERS) {
    kafka = createKafka(config.KAFKA_BROKERS, config.KAFKA_CLIENT_ID, logger, kafkaSecurity(config));
    const admin = kafka.admin({ retry: { retries: 0 } });
    closers.push(() => admin.disconnect());
    readiness.push({
      name: 'kafka',
      critical: false, // the gateway serves scores from Postgres and Redis; the consumer needs Kafka
      check: async () => {
        await admin.connect();
        await admin.describeCluster();
      },
    });
  }

  await checkServices(logger, db, redis, kafka, clusterTlsProbe(config)).catch(async (error: unknown) => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  });

  const pubsub = redis ? redisPubSub(redis, `${config.REDIS_KEY_PREFIX}events:`, logger) : memoryPubSub();
  closers.push(() => pubsub.close());
  const plans = await PlanCatalog.create(db.prisma, pubsub);
  const accounts = await AccountService.create(db.prisma, plans, pubsub);
  const registry = new SchemaRegistry(db.prisma);
  const productAccess = await ProductAccess.create(db.prisma, plans, pubsub);
  const catalog = DataProductCatalog.create(db.prisma, plans, registry, () => productAccess.invalidate());
  const keys = await KeyService.create(db.prisma, pubsub, config.NODE_ENV === 'production' ? 'live' : 'test', logger);
  closers.push(() => keys.close());
  const risk = new RiskService({
    prisma: db.prisma,
    redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    pubsub,
    logger,
    archive: archivedHistoryFor(config, db.sql),
  });
  closers.push(() => risk.close());
  const limiters = redis ? redisLimiters(redis, config.REDIS_KEY_PREFIX, config.LIMITS_REDIS_DOWN_POLICY, config.LIMITS_INSURANCE_SHARE) : memoryLimiters();
  const quotaAlerts = new QuotaAlerts(db.prisma, pubsub, logger);
  const metrics = createMetrics();
  const leases = redis
    ? await LeaseBook.create(
        new QuotaLeaseStore(redis, pubsub, {
          burstWindowSec: BURST_WINDOW_SEC,
          dailyTtlSec: DAILY_KEY_TTL_SEC,
          share: LEASE_SHARE,
          maxSurplus: config.LIMITS_MAX_LEASE,
          graceMs: LEASE_GRACE_MS,
        }),
        logger,
        reservationCounter(metrics.registry),
      )
    : undefined;
  const limits = new LimitService(limiters, plans, quotaAlerts, config.LIMITS_REDIS_DOWN_POLICY, logger, leases);
  closers.push(() => limits.close());
  registerLimitMetrics(metrics.registry, limits);
  const spool = config.METERING_SPOOL_DIR
    ? await UsageSpool.open(
        {
          dir: config.METERING_SPOOL_DIR,
          shipMs: config.METERING_SPOOL_SHIP_MS,
          staleMs: config.METERING_SPOOL_STALE_MS,
          fsyncMs: config.METERING_SPOOL_FSYNC_MS,
          memoryDir: config.METERING_SPOOL_MEMORY_DIR,
          ship: (json) => insertUsageJson(db.sql, json),
          onLate: (from, to) => rebuildRollups(db.prisma, from, to),
        },
        logger,
      )
    : undefined;
  if (spool) {
    spoolMetrics(metrics.registry, spool);
    closers.push(() => spool.close());
  }
  const ledger = new UsageLedger(
    db.sql,
    {
      flushMs: config.METERING_FLUSH_MS,
      maxBatch: config.METERING_MAX_BATCH,
      onWrite: ledgerMetrics(metrics.registry),
      sink: spool && ((entries) => spool.append(entries)),
    },
    logger,
  );
  closers.push(() => ledger.drain());
  const stripe = createStripe(config);
  const graceMs = config.BILLING_PAST_DUE_GRACE_DAYS * 86_400_000;
  const stripeWebhooks = new StripeWebhooks(db.prisma, accounts, logger, metrics, { graceMs, stripe });
  const billing = new BillingService(db.prisma, stripe, accounts, { publicUrl: config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`, graceMs });
  const abuse = new AbuseGuard(limiters, config.AUTH_FAILURES_PER_MINUTE, config.ANONYMOUS_REQUESTS_PER_MINUTE);
  const sla = new SlaService(db.prisma, new SlaRecorder(db.sql, logger, SLA_FLUSH_MS));
  closers.push(() => sla.recorder.close());
  const edge =
    config.EDGE_RUNTIME_API && config.EDGE_PRIORITY_MAP
      ? new EdgePriorities(
          {
            runtimeApi: config.EDGE_RUNTIME_API,
            map: config.EDGE_PRIORITY_MAP,
            resyncMs: config.EDGE_RESYNC_MS,
            reserve:
              config.EDGE_ENTERPRISE_RESERVE > 0 && config.EDGE_GATEWAY_MAXCONN
                ? {
                    server: config.EDGE_SERVER,
                    maxconn: config.EDGE_GATEWAY_MAXCONN,
                    slots: config.EDGE_ENTERPRISE_RESERVE,
                    idleMs: config.EDGE_RESERVE_IDLE_MS,
                  }
                : undefined,
          },
          logger,
        )
      : undefined;
  edgeMetrics(metrics.registry, {
    get reservedSlots() {
      return edge?.reservedSlots ?? 0;
    },
  });
  if (edge) closers.push(() => edge.stop());

  return {
    config,
    logger,
    metrics,
    db,
    redis,
    kafka,
    pubsub,
    plans,
    catalog,
    productAccess,
    productRevenue: new ProductRevenue(db.prisma),
    registry,
    accounts,
    keys,
    risk,
    analytics: new AnalyticsService({ url: config.ANALYTICS_URL, maxRangeDays: config.ANALYTICS_MAX_RANGE_DAYS, logger }),
    limits,
    ledger,
    usage: new UsageService(db.prisma),
    stripe,
    stripeWebhooks,
    billing,
    quotaAlerts,
    abuse,
    edge,
    freeFields: new FreeFieldLimit(config.FREE_FIELDS_PER_SECOND),
    sla,
    audit: new AuditTrail(db.prisma),
    readiness,
    close: async () => {
      for (const close of closers.reverse()) {
        await close().catch((error) => logger.warn({ err: error }, 'error while closing a client'));
      }
    },
  };
}
