import type { Redis } from 'ioredis';
import type { KafkaRecord, RecordProducer } from '../../kafka/record-producer';
import type { Logger } from '../../ops/logger';
import type { PubSub } from '../../pubsub/pubsub';
import type { OperatorBatch, OperatorSinks, OperatorView } from './keyed';
import { bySize, dlqMessage } from './outputs';

/** Where a keyed operator's outputs go; each is optional (a repartition stage has no views, a replay no topics). */
export interface OperatorTargets {
  logger: Logger;
  /** Each key's newest view, under `<prefix><namespace>:<key>` (both needed). */
  redis?: Redis;
  redisKeyPrefix?: string;
  namespace?: string;
  producer?: RecordProducer;
  /** Every view, keyed by its key (readers keep the highest version). */
  viewsTopic?: string;
  /** The records the operator emits (a repartition topic), in order. */
  recordsTopic?: string;
  dlqTopic?: string;
  pubsub?: PubSub;
  channel?: string;
}

/** The Redis key of a view. */
export const viewKey = (prefix: string, namespace: string, key: string) => `${prefix}${namespace}:${key}`;

/** Versions zero-padded to 16 digits, so a Lua string comparison keeps the highest. */
const VERSION_WIDTH = 16;

export const encodeVersioned = (view: OperatorView): string => `${String(view.version).padStart(VERSION_WIDTH, '0')}${JSON.stringify(view)}`;

export const decodeVersioned = <V extends OperatorView>(value: string): V => JSON.parse(value.slice(VERSION_WIDTH)) as V;

/** Sets each key to its value unless the stored one has a higher version (an equal one is the same view again, after a crash). */
const SET_IF_NOT_OLDER = `
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  if not current or string.sub(current, 1, ${VERSION_WIDTH}) <= string.sub(ARGV[i], 1, ${VERSION_WIDTH}) then
    redis.call('SET', KEYS[i], ARGV[i])
  end
end
return 0`;

/**
 * SET_IF_NOT_OLDER for a replay, which also says what it found: per key, the replayed view is
 * set where the stored one is missing or older (restored), or of the same version and different
 * (changed: the stored view was not what its events give), and left where it is the same
 * (unchanged) or newer (the live operator is ahead). Returns the four counts in that order.
 */
const REPLAY_SET = `
local restored, changed, unchanged, ahead = 0, 0, 0, 0
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  local stored = current and string.sub(current, 1, ${VERSION_WIDTH})
  local replayed = string.sub(ARGV[i], 1, ${VERSION_WIDTH})
  if not current or stored < replayed then
    redis.call('SET', KEYS[i], ARGV[i])
    restored = restored + 1
  elseif stored > replayed then
    ahead = ahead + 1
  elseif current ~= ARGV[i] then
    redis.call('SET', KEYS[i], ARGV[i])
    changed = changed + 1
  else
    unchanged = unchanged + 1
  end
end
return {restored, changed, unchanged, ahead}`;

/** What a replay found of the views it wrote (REPLAY_SET). */
export interface ReplayedViews {
  restored: number;
  changed: number;
  unchanged: number;
  ahead: number;
}

const CHUNK = 500;

/** A topic's records, request after request: a repartition's order within a target partition is its de-duplication's premise. */
async function sendInOrder(producer: RecordProducer, topic: string, records: KafkaRecord[]): Promise<void> {
  for (const part of bySize(records)) await producer.send(topic, part);
}

export function operatorSinks(targets: OperatorTargets): OperatorSinks {
  const { redis, producer, pubsub, logger } = targets;
  const prefix = targets.redisKeyPrefix ?? '';
  const writeViews = async (views: OperatorView[]) => {
    const { namespace } = targets;
    if (!redis || namespace === undefined || views.length === 0) return;
    const work: Array<Promise<unknown>> = [];
    // A Redis Cluster spreads the keys over slots, which one script may not span: one call each.
    const size = redis.isCluster ? 1 : CHUNK;
    for (let i = 0; i < views.length; i += size) {
      const part = views.slice(i, i + size);
      work.push(redis.eval(SET_IF_NOT_OLDER, part.length, ...part.map((view) => viewKey(prefix, namespace, view.key)), ...part.map(encodeVersioned)));
    }
    await Promise.all(work);
  };
  return {
    async write({ views, records, dlq }: OperatorBatch) {
      const work: Array<Promise<unknown>> = [writeViews(views)];
      if (producer) {
        if (records.length && targets.recordsTopic) work.push(sendInOrder(producer, targets.recordsTopic, records));
        if (views.length && targets.viewsTopic) {
          const topic = targets.viewsTopic;
          work.push(
            sendInOrder(
              producer,
              topic,
              views.map((view) => ({ key: view.key, value: JSON.stringify(view) })),
            ),
          );
        }
        if (dlq.length && targets.dlqTopic) work.push(sendInOrder(producer, targets.dlqTopic, dlq.map(dlqMessage)));
      } else {
        for (const record of dlq)
          logger.warn({ reason: record.reason, detail: record.detail, offset: record.offset }, 'refused a record (no DLQ topic without Kafka)');
      }
      await Promise.all(work);
    },
    async announce(views) {
      if (!pubsub || !targets.channel) return;
      for (let i = 0; i < views.length; i += CHUNK) await pubsub.publish(targets.channel, JSON.stringify(views.slice(i, i + CHUNK)));
    },
  };
}

/** Writes a replay's final views (REPLAY_SET), one per key, and says what it found. */
export async function writeReplayedViews(redis: Redis, prefix: string, namespace: string, views: OperatorView[]): Promise<ReplayedViews> {
  const found: ReplayedViews = { restored: 0, changed: 0, unchanged: 0, ahead: 0 };
  const size = redis.isCluster ? 1 : CHUNK;
  for (let i = 0; i < views.length; i += size) {
    const part = views.slice(i, i + size);
    const keys = part.map((view) => viewKey(prefix, namespace, view.key));
    const [restored, changed, unchanged, ahead] = (await redis.eval(REPLAY_SET, part.length, ...keys, ...part.map(encodeVersioned))) as number[];
    found.restored += restored;
    found.changed += changed;
    found.unchanged += unchanged;
    found.ahead += ahead;
  }
  return found;
}
