import type { Redis } from 'ioredis';
import type { KafkaRecord, RecordProducer } from '../../kafka/record-producer';
import type { Logger } from '../../ops/logger';
import type { PubSub } from '../../pubsub/pubsub';
import { tracing } from '../../ops/tracing';
import type { DlqReason } from '../contract';
import { scoreTraceparent } from '../tracing';
import { TurnBatch } from '../../ops/turn-batch';
import { latestCallsOn, LatestPayload, type LatestCall, type LatestCalls } from './latest-calls';
import {
  CLAIM_LATEST,
  encodeLatest,
  encodeView,
  encodeViews,
  latestClaimKey,
  latestKey,
  rankingKey,
  SCORES_CHANNEL,
  SET_ONE_IF_NEWER,
  type RiskScoreView,
} from '../view';

/** A refused message, as it goes to `transactions.dlq`: the original bytes plus why. */
export interface DlqRecord {
  key: Buffer | string | null;
  value: Buffer | null;
  reason: DlqReason;
  detail: string;
  topic: string;
  partition: number;
  offset: string;
  timestamp?: string;
}

export interface BatchOutputs {
  scores: RiskScoreView[];
  dlq: DlqRecord[];
}

/**
 * A consumer's right to write one partition's latest scores, taken when it loads the partition.
 * `writtenFrom`: the offset up to which the partition's latest scores were already written (by an
 * earlier owner, or before a crash): the scores of events before it are not written again, so a
 * consumer that goes back to its checkpoint never puts an older score back, even for a moment.
 */
export interface LatestClaim {
  key: string;
  token: string;
  writtenFrom: number;
}

/** The latest scores of a partition were claimed by another consumer: this one must stop writing them. */
export class LatestClaimLost extends Error {
  constructor(key: string) {
    super(`another consumer has claimed ${key}`);
    this.name = 'LatestClaimLost';
  }
}

/**
 * Where a batch's results go besides Postgres, all idempotent and all before the checkpoint
 * moves, so a crash sends them again (same content: scores are deterministic).
 * `writeLatest` sets each customer's newest score (what `riskScore` reads) as soon as the batch
 * is scored; `beforeCommit` writes the risk-scores topic and the DLQ with the history;
 * `afterCommit` announces scores the sinks hold to live subscribers.
 */
export interface RiskOutputs {
  /**
   * Takes over writing a partition's latest scores (a consumer that had it is refused from now
   * on). Null: no claim is needed (no Redis, or a Redis Cluster, where each key keeps its newest score).
   */
  claimLatest(groupId: string, topic: string, partition: number): Promise<LatestClaim | null>;
  /**
   * The newest score per customer in a batch, in partition order, under the partition's claim;
   * `nextOffset`: the offset after the batch. Rejects with LatestClaimLost once another consumer claimed it.
   */
  writeLatest(latest: RiskScoreView[], claim: LatestClaim | null, nextOffset: number): Promise<void>;
  beforeCommit(batch: BatchOutputs): Promise<void>;
  afterCommit(scores: RiskScoreView[]): Promise<void>;
}

/** Outputs of a run that writes only Postgres (a replay). */
export const NO_OUTPUTS: RiskOutputs = {
  claimLatest: async () => null,
  writeLatest: async () => undefined,
  beforeCommit: async () => undefined,
  afterCommit: async () => undefined,
};

export interface OutputTargets {
  logger: Logger;
  /** Latest score per customer (real Redis); without it, readers use Postgres. */
  redis?: Redis;
  redisKeyPrefix?: string;
  /** Live announcements (Redis pub/sub, or in-process when embedded). */
  pubsub?: PubSub;
  /** `risk-scores` and `transactions.dlq`; without Kafka, refused messages are only logged and counted. */
  producer?: RecordProducer;
  scoresTopic?: string;
  /** How a score goes on the risk-scores topic: JSON (the default), or Confluent-framed Avro (RISK_SCORES_FORMAT=avro). */
  encodeScore?: (view: RiskScoreView) => string | Buffer;
  dlqTopic?: string;
  /** Where the latest scores' calls run (default: as transactions on `redis`, on this thread); a Redis Cluster takes SET_ONE_IF_NEWER instead. */
  latestCalls?: LatestCalls;
}

const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Requests of at most ~512 KB: the scores of one transactions partition all go to the same
 * risk-scores partition (same key, same partitioner), and the broker refuses record batches
 * over its message.max.bytes (1 MB by default).
 */
export function bySize(messages: KafkaRecord[], limit = 512 * 1024): KafkaRecord[][] {
  const out: KafkaRecord[][] = [];
  let current: KafkaRecord[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (message.value?.length ?? 0) + (typeof message.key === 'string' ? message.key.length : (message.key?.length ?? 0)) + 64;
    if (current.length && bytes + size > limit) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

export function riskOutputs(targets: OutputTargets): RiskOutputs {
  const { redis, producer, pubsub, logger } = targets;
  const prefix = targets.redisKeyPrefix ?? '';
  const encodeScore = targets.encodeScore ?? encodeView;
  const latestWrites = redis && !redis.isCluster ? latestWriter(targets.latestCalls ?? latestCallsOn(redis, prefix)) : undefined;
  const announcements = pubsub ? announcer(pubsub) : undefined;
  return {
    async claimLatest(groupId, topic, partition) {
      if (!redis || redis.isCluster) return null;
      const key = latestClaimKey(prefix, groupId, topic, partition);
      const [token, written] = (await redis.eval(CLAIM_LATEST, 1, key)) as [number, string];
      return { key, token: String(token), writtenFrom: Number(written) };
    },
    async writeLatest(latest, claim, nextOffset) {
      if (!redis) return;
      if (redis.isCluster) {
        if (latest.length) await writeLatestInCluster(redis, prefix, latest);
        return;
      }
      if (!claim) throw new Error('the latest scores of a partition are written under its claim (claimLatest)');
      if (!(await latestWrites!.add({ claim, views: latest, nextOffset }))) throw new LatestClaimLost(claim.key);
    },
    async afterCommit(scores) {
      if (!announcements || scores.length === 0) return;
      await announcements.add(scores);
    },
    async beforeCommit({ scores, dlq }) {
      const work: Array<Promise<unknown>> = [];
      if (producer) {
        if (scores.length && targets.scoresTopic) {
          const topic = targets.scoresTopic;
          const messages: KafkaRecord[] = tracing.on
            ? scores.map((view) => tracedMessage(view, encodeScore))
            : scores.map((view) => ({ key: view.customerId, value: encodeScore(view) }));
          for (const part of bySize(messages)) work.push(producer.send(topic, part));
        }
        if (dlq.length && targets.dlqTopic) {
          const topic = targets.dlqTopic;
          for (const part of bySize(dlq.map(dlqMessage))) work.push(producer.send(topic, part));
        }
      } else {
        for (const record of dlq)
          logger.warn({ reason: record.reason, detail: record.detail, offset: record.offset }, 'refused a transaction (no DLQ topic without Kafka)');
      }
      await Promise.all(work);
    },
  };
}

/** A batch's latest scores, under its partition's claim; `nextOffset`: the offset after the batch. */
interface LatestBatch {
  claim: LatestClaim;
  views: RiskScoreView[];
  nextOffset: number;
}

/**
 * The latest scores of every batch scored in one turn of the event loop (the partitions of one
 * fetch), in calls of at most CHUNK customers (latestCallsOn): one call, not one per partition. A batch
 * larger than that goes in parts, and only its last part moves `written` (the calls of a
 * connection run in order). Each batch learns whether all of its parts were written (false: its
 * partition was claimed by another consumer). The calls run where `calls` runs them: on this
 * thread's Redis client, or on the risk consumer's latest-score thread (LatestThread).
 */
function latestWriter(calls: LatestCalls): TurnBatch<LatestBatch, boolean> {
  return new TurnBatch(async (batches) => {
    const made: LatestCall[] = [];
    const payloads: LatestPayload[] = [];
    const owners: number[][] = [];
    let claims: string[] = [];
    let payload: LatestPayload | undefined;
    let groups: number[] = [];
    let customers = 0;
    const send = () => {
      made.push({ claims, payload: payload!.bytes });
      payloads.push(payload!);
      owners.push(groups);
      claims = [];
      payload = undefined;
      groups = [];
      customers = 0;
    };
    batches.forEach(({ claim, views: latest, nextOffset }, b) => {
      const parts = latest.length ? chunks(latest) : [[]];
      parts.forEach((views, i) => {
        if (groups.length && customers + views.length > CHUNK) send();
        payload ??= new LatestPayload();
        claims.push(claim.key);
        payload.group(claim.token, i === parts.length - 1 ? String(nextOffset) : '', views.length);
        for (const view of views) payload.customer(view);
        groups.push(b);
        customers += views.length;
      });
    });
    send();
    const answered = calls.run(made);
    for (const sent of payloads) sent.release();
    const done = batches.map(() => true);
    (await answered).forEach((results, c) => {
      results.forEach((result, g) => {
        if (result !== 1) done[owners[c][g]] = false;
      });
    });
    return done;
  });
}

/**
 * The announcements of every batch whose sinks returned in one turn of the event loop (a round
 * of group commit holds several partitions' batches), published together in messages of at most
 * CHUNK scores.
 */
function announcer(pubsub: PubSub): TurnBatch<RiskScoreView[], undefined> {
  return new TurnBatch(async (batches) => {
    const traceparentOf = tracing.on ? scoreTraceparent : undefined;
    await Promise.all(chunks(batches.flat()).map((part) => pubsub.publish(SCORES_CHANNEL, encodeViews(part, traceparentOf))));
    return batches.map(() => undefined);
  });
}

/**
 * In a Redis Cluster every customer's latest-score key hashes to its own slot and the ranking to
 * another, so no one script may touch them all: each score is set by its own script call (the
 * calls of a batch leave in one write per node, auto-pipelined), then the customers whose score
 * was set are ranked. The ranking follows its scores a moment later instead of in the same step;
 * two writers of one customer at once (only while a transactions partition changes hands) may
 * leave it with the older score's rank until the customer's next score. `topRisks` returns the
 * latest scores themselves, so only the order can be off, never a score.
 */
async function writeLatestInCluster(redis: Redis, prefix: string, latest: RiskScoreView[]): Promise<void> {
  const set = await Promise.all(latest.map((view) => redis.eval(SET_ONE_IF_NEWER, 1, latestKey(prefix, view.customerId), encodeLatest(view))));
  const ranks = latest.filter((_, i) => set[i] === 1);
  await Promise.all(chunks(ranks).map((part) => redis.zadd(rankingKey(prefix), ...part.flatMap((view) => [view.score, view.customerId]))));
}

/** A score's risk-scores message, with the W3C `traceparent` header when its event was traced. */
function tracedMessage(view: RiskScoreView, encode: (view: RiskScoreView) => string | Buffer): KafkaRecord {
  const traceparent = scoreTraceparent(view);
  return { key: view.customerId, value: encode(view), ...(traceparent ? { headers: { traceparent } } : {}) };
}

/** A refused record as it goes to the DLQ (every operator's: the same topic and headers). */
export function dlqMessage(record: DlqRecord): KafkaRecord {
  return {
    key: record.key,
    value: record.value,
    headers: {
      'dlq-reason': record.reason,
      'dlq-detail': record.detail.slice(0, 1024),
      'source-topic': record.topic,
      'source-partition': String(record.partition),
      'source-offset': record.offset,
      ...(record.timestamp ? { 'source-timestamp': record.timestamp } : {}),
    },
  };
}
