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
