import type { Redis } from 'ioredis';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../ops/logger';
import { SpanKind } from '@opentelemetry/api';
import { contextOfTraceparent, tracer, tracing, withSpan } from '../ops/tracing';
import { liveFeed } from '../pubsub/live-feed';
import type { PubSub } from '../pubsub/pubsub';
import { getMany } from '../redis/get-many';
import { TurnBatch } from '../ops/turn-batch';
import { BAND_FLOORS } from './model/parameters';
import type { Band, Channel, RiskFactor } from './model/types';
import { TollgraphError } from '../errors';
import { decodeCursor, encodeCursor } from '../graphql/cursor';
import { OperatorViews } from './operators/views';
import { decodeLatest, latestKey, rankingKey, SCORES_CHANNEL, type RiskScoreView } from './view';

export interface TransactionRiskView {
  eventId: string;
  customerId: string;
  merchantId: string | null;
  mcc: string | null;
  amount: string | null;
  currency: string | null;
  country: string | null;
  channel: Channel | null;
  deviceId: string | null;
  eventTime: string;
  risk: RiskScoreView;
}

export interface HistoryPage {
  nodes: RiskScoreView[];
  hasNextPage: boolean;
}

/** A window of a customer's history, below a cursor: `from` inclusive, `before` exclusive (event time). */
export interface HistoryWindow {
  from?: Date;
  before: Date;
  cursor?: { time: Date; eventId: string };
}

/** Where the history older than PostgreSQL keeps is read (the archive, src/archive/scores.ts). */
export interface HistoryArchive {
  /** Rows older than this may be there only: PostgreSQL keeps the newer ones. */
  horizon(): Date;
  /** A customer's scores in the window, newest first (event time, then event id), at most `limit`. */
  scores(customerId: string, window: HistoryWindow, limit: number): Promise<RiskScoreView[]>;
}

export interface ScoreFilter {
  customerIds?: string[] | null;
  minBand?: Band | null;
}

interface StoredScore {
  customerId: string;
  eventId: string;
  score: number;
  band: Band;
  factors: unknown;
  eventTime: Date;
  computedAt: Date;
  modelVersion: string;
}

/** ZRANGE ... WITHSCORES: member, score, member, score... */
function pairs(flat: string[]): Array<{ customerId: string; score: number }> {
  const out: Array<{ customerId: string; score: number }> = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ customerId: flat[i], score: Number(flat[i + 1]) });
  return out;
}

function viewOf(row: StoredScore): RiskScoreView {
  return {
    customerId: row.customerId,
    eventId: row.eventId,
    score: row.score,
    band: row.band,
    factors: row.factors as RiskFactor[],
    eventTime: row.eventTime.toISOString(),
    computedAt: row.computedAt.toISOString(),
    modelVersion: row.modelVersion,
  };
}

/** A history row's place in the newest-first order: its event time and event id. */
export const historyCursor = (view: Pick<RiskScoreView, 'eventTime' | 'eventId'>) => encodeCursor([Date.parse(view.eventTime), view.eventId]);

function parseCursor(after: string): { time: Date; eventId: string } {
  const [ms, eventId] = decodeCursor(after, ['number', 'string']);
  return { time: new Date(ms), eventId };
}

/** Newest first, as the history is ordered: event time, then event id. */
export const newestFirst = (a: Pick<RiskScoreView, 'eventTime' | 'eventId'>, b: Pick<RiskScoreView, 'eventTime' | 'eventId'>) =>
  Date.parse(b.eventTime) - Date.parse(a.eventTime) || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);

const MAX_BUFFERED = 1_000;

/** One history page to read: a customer's rows newest first, in a window, below a cursor. */
interface HistoryQuery {
  customerId: string;
  from: Date | null;
  to: Date | null;
  cursor: { time: Date; eventId: string } | undefined;
  limit: number;
}

/**
 * Every page asked for in one turn, in one statement: a row of arguments per page, each read with
 * its own index range scan (customer, event time), its rows tagged with the page they belong to.
 * A request asking for the history of twenty customers (twenty root fields) made twenty queries.
 */
const HISTORY_PAGES = `
SELECT q.page, r.customer_id AS "customerId", r.event_id AS "eventId", r.score, r.band::text AS band, r.factors,
       r.event_time AS "eventTime", r.computed_at AS "computedAt", r.model_version AS "modelVersion"
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::int[])
  WITH ORDINALITY AS q(customer_id, from_time, to_time, after_time, after_id, take, page)
CROSS JOIN LATERAL (
  SELECT * FROM risk_scores r
  WHERE r.customer_id = q.customer_id
    AND r.event_time >= COALESCE(q.from_time, '-infinity') AND r.event_time < COALESCE(q.to_time, 'infinity')
    AND r.event_time <= COALESCE(q.after_time, 'infinity')
    AND (q.after_time IS NULL OR r.event_time < q.after_time OR r.event_id < q.after_id)
  ORDER BY r.event_time DESC, r.event_id DESC
  LIMIT q.take
) r
ORDER BY q.page, r.event_time DESC, r.event_id DESC`;

/**
 * Reading scores for the GraphQL API: the latest per customer from Redis (falling back to
 * Postgres on a miss or while Redis is down, and always in the embedded mode), history and
 * per-transaction scores from Postgres, live updates from the pub/sub channel the pipeline
 * announces on (Redis, so every gateway process hears every consumer process).
 */
export class RiskService {
  private readonly listeners = new Set<(view: RiskScoreView) => void>();
  private subscription?: Promise<() => Promise<void>>;
  private readonly historyPages = new TurnBatch<HistoryQuery, RiskScoreView[]>((queries) => this.readHistoryPages(queries));

  /** The other stream operators' products (merchant-risk, customer-spend-features): latest views and live updates. */
  readonly products: OperatorViews;

  constructor(
    private readonly deps: { prisma: PrismaClient; redis?: Redis; redisKeyPrefix: string; pubsub: PubSub; logger: Logger; archive?: HistoryArchive },
  ) {
    this.products = new OperatorViews(deps);
  }

  async latest(customerId: string): Promise<RiskScoreView | null> {
    return (await this.latestMany([customerId]))[0];
  }

  /**
   * In the order asked, null where a customer has no score. The latest scores live in Redis when
   * it is configured (the pipeline sets them with every batch); a key Redis lacks (or Redis down)
   * is read from the history. Without Redis, from latest_risk_scores, which the checkpoint keeps.
   */
  async latestMany(customerIds: string[]): Promise<Array<RiskScoreView | null>> {
    const out: Array<RiskScoreView | null> = customerIds.map(() => null);
    if (customerIds.length === 0) return out;
    let missing = customerIds.map((_, i) => i);
    const { redis, redisKeyPrefix } = this.deps;
    if (redis) {
      try {
        const values = await getMany(
          redis,
          customerIds.map((id) => latestKey(redisKeyPrefix, id)),
        );
        missing = [];
        values.forEach((value, i) => {
          if (value) out[i] = decodeLatest(value);
          else missing.push(i);
        });
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'redis unavailable for latest risk scores; reading Postgres');
      }
    }
    if (missing.length) {
      const wanted = [...new Set(missing.map((i) => customerIds[i]))];
      const byCustomer = new Map((redis ? await this.newestInHistory(wanted) : await this.latestRows(wanted)).map((view) => [view.customerId, view]));
      for (const i of missing) out[i] = byCustomer.get(customerIds[i]) ?? null;
    }
    return out;
  }

  private async latestRows(customerIds: string[]): Promise<RiskScoreView[]> {
    return (await this.deps.prisma.latestRiskScore.findMany({ where: { customerId: { in: customerIds } } })).map(viewOf);
  }

  /** Each customer's newest score in the history: a page of one each, in one statement. */
  private async newestInHistory(customerIds: string[]): Promise<RiskScoreView[]> {
    const pages = await this.readHistoryPages(customerIds.map((customerId) => ({ customerId, from: null, to: null, cursor: undefined, limit: 1 })));
    return pages.flat();
  }

  /** Newest first; `from` inclusive, `to` exclusive. Pages asked for in the same turn are read in one statement. */
  async history(customerId: string, options: { from?: Date | null; to?: Date | null; first: number; after?: string | null }): Promise<HistoryPage> {
    const cursor = options.after ? parseCursor(options.after) : undefined;
    const rows = await this.historyPages.add({ customerId, from: options.from ?? null, to: options.to ?? null, cursor, limit: options.first + 1 });
    const nodes = await this.withArchived(customerId, rows, options, cursor);
    return { nodes: nodes.slice(0, options.first), hasNextPage: nodes.length > options.first };
  }

  private async readHistoryPages(queries: HistoryQuery[]): Promise<RiskScoreView[][]> {
    const rows = await this.deps.prisma.$queryRawUnsafe<Array<StoredScore & { page: bigint }>>(
      HISTORY_PAGES,
      queries.map((q) => q.customerId),
      queries.map((q) => q.from?.toISOString() ?? null),
      queries.map((q) => q.to?.toISOString() ?? null),
      queries.map((q) => q.cursor?.time.toISOString() ?? null),
      queries.map((q) => q.cursor?.eventId ?? null),
      queries.map((q) => q.limit),
    );
    const pages = queries.map((): RiskScoreView[] => []);
    for (const row of rows) pages[Number(row.page) - 1].push(viewOf(row));
    return pages;
  }

  /**
   * The page's rows with those only the archive still has (older than the retention window)
   * merged in, in the same order: the newest `first + 1` of both are the newest of all. A row in
   * both is PostgreSQL's (the retention pass deletes only rows the archive holds identically).
   */
  private async withArchived(
    customerId: string,
    stored: RiskScoreView[],
    options: { from?: Date | null; to?: Date | null; first: number },
    cursor: { time: Date; eventId: string } | undefined,
  ): Promise<RiskScoreView[]> {
    const { archive } = this.deps;
    const horizon = archive?.horizon();
    if (!archive || !horizon || (options.from && options.from >= horizon)) return stored;
    const before = new Date(Math.min(horizon.getTime(), options.to?.getTime() ?? Infinity, cursor ? cursor.time.getTime() + 1 : Infinity));
    const archived = await archive.scores(customerId, { from: options.from ?? undefined, before, cursor }, options.first + 1);
    const known = new Set(stored.map((view) => view.eventId));
    const only = archived.filter((view) => !known.has(view.eventId));
    return only.length ? [...stored, ...only].sort(newestFirst).slice(0, options.first + 1) : stored;
  }

  /**
   * Customers whose latest score is in `minBand` or above, highest first (ties by customer id).
   * From the Redis ranking the pipeline keeps beside the latest scores, or, without Redis, from
   * latest_risk_scores.
   */
  async top(minBand: Band, first: number): Promise<RiskScoreView[]> {
    const { redis } = this.deps;
    if (!redis) {
      const rows = await this.deps.prisma.latestRiskScore.findMany({
        where: { score: { gte: BAND_FLOORS[minBand] } },
        orderBy: [{ score: 'desc' }, { customerId: 'asc' }],
        take: first,
      });
      return rows.map(viewOf);
    }
    try {
      return await this.topInRedis(redis, BAND_FLOORS[minBand], first);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'redis unavailable for the risk ranking');
      throw new TollgraphError('SERVICE_UNAVAILABLE', 'The risk ranking is unavailable for a moment; try again.', { headers: { 'retry-after': '1' } });
    }
  }

  private async topInRedis(redis: Redis, floor: number, first: number): Promise<RiskScoreView[]> {
    const key = rankingKey(this.deps.redisKeyPrefix);
    const ranked = pairs(await redis.zrange(key, '+inf', String(floor), 'BYSCORE', 'REV', 'LIMIT', 0, first, 'WITHSCORES'));
    // A sorted set orders equal scores by member, descending in REV: the lowest score taken may
    // tie with members left out. Those with a higher score are all in; the lowest score's places
    // go to its smallest customer ids.
    if (ranked.length === first && first > 0) {
      const lowest = ranked[ranked.length - 1].score;
      const above = ranked.filter((entry) => entry.score > lowest);
      const ties = await redis.zrange(key, String(lowest), String(lowest), 'BYSCORE', 'LIMIT', 0, first - above.length);
      ranked.splice(0, ranked.length, ...above, ...ties.map((customerId) => ({ customerId, score: lowest })));
    }
    ranked.sort((a, b) => b.score - a.score || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
    if (ranked.length === 0) return [];
    const values = await getMany(
      redis,
      ranked.map((entry) => latestKey(this.deps.redisKeyPrefix, entry.customerId)),
    );
    return values.filter((value) => value !== null).map(decodeLatest);
  }

  async transaction(eventId: string): Promise<TransactionRiskView | null> {
    const row = await this.deps.prisma.riskScore.findUnique({ where: { eventId } });
    if (!row) return null;
    return {
      eventId: row.eventId,
      customerId: row.customerId,
      merchantId: row.merchantId,
      mcc: row.mcc,
      amount: row.amount === null ? null : row.amount.toFixed(Math.max(2, row.amount.decimalPlaces())),
      currency: row.currency,
      country: row.country,
      channel: row.channel,
      deviceId: row.deviceId,
      eventTime: row.eventTime.toISOString(),
      risk: viewOf(row),
    };
  }

  /**
   * Live scores matching the filter, as they are committed by any pipeline process. Resolves once
   * this process listens on the channel. A subscriber that falls more than MAX_BUFFERED scores
   * behind loses the oldest.
   */
  async updates(filter: ScoreFilter): Promise<AsyncIterableIterator<RiskScoreView>> {
    const customers = filter.customerIds?.length ? new Set(filter.customerIds) : undefined;
    const floor = BAND_FLOORS[filter.minBand ?? 'LOW'];
    const feed = liveFeed<RiskScoreView>(MAX_BUFFERED, () => this.listeners.delete(listener));
    const listener = (view: RiskScoreView) => {
      if (view.score >= floor && (!customers || customers.has(view.customerId))) feed.push(view);
    };
    // Counted as a subscriber once the channel subscription is live, not before: a score published
    // in between would be missed by a subscriber already counted (a flaky live-usage test showed it).
    await this.listen();
    this.listeners.add(listener);
    return feed.iterator;
  }

  /** Current number of live subscribers in this process. */
  get subscribers(): number {
    return this.listeners.size;
  }

  private listen(): Promise<unknown> {
    this.subscription ??= this.deps.pubsub.subscribe(SCORES_CHANNEL, (message) => {
      if (this.listeners.size === 0) return;
      let views: RiskScoreView[];
      try {
        views = JSON.parse(message) as RiskScoreView[];
      } catch {
        return;
      }
      for (const view of views) {
        const { traceparent } = view as { traceparent?: string };
        if (traceparent === undefined) this.deliver(view);
        else this.deliverTraced(view, traceparent);
      }
    });
    this.subscription.catch(() => (this.subscription = undefined));
    return this.subscription;
  }

  /** A traced score (see risk/tracing.ts): its delivery to this process's subscribers continues the trace. */
  private deliverTraced(view: RiskScoreView, traceparent: string): void {
    delete (view as { traceparent?: string }).traceparent;
    const parent = tracing.on ? contextOfTraceparent(traceparent) : undefined;
    if (!parent) {
      this.deliver(view);
      return;
    }
    const span = tracer.startSpan(
      'deliver riskScoreUpdated',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'graphql.operation.type': 'subscription',
          'risk.customer_id': view.customerId,
          'risk.event_id': view.eventId,
          'tollgraph.subscribers': this.listeners.size,
        },
      },
      parent,
    );
    withSpan(span, () => this.deliver(view));
    span.end();
  }

  private deliver(view: RiskScoreView): void {
    for (const listener of this.listeners) listener(view);
  }

  async close(): Promise<void> {
    await this.products.close();
    for (const listener of [...this.listeners]) this.listeners.delete(listener);
    const unsubscribe = await this.subscription?.catch(() => undefined);
    await unsubscribe?.().catch(() => undefined);
  }
}
