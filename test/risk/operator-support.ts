import { decodeTransaction } from '../../src/risk/contract';
import { PRODUCT_OUTPUTS, type OperatorProduct } from '../../src/risk/operators/product-outputs';
import { productGroups } from '../../src/risk/operators/products';
import { jsonStates } from '../../src/risk/pipeline/state-codec';
import { loadGroupStates } from '../../src/risk/pipeline/store';
import { decodeVersioned, viewKey } from '../../src/risk/pipeline/operator-sinks';
import type { Transaction } from '../../src/risk/model/types';
import { startWorkerProcess, waitFor } from '../support/process';
import { checkpointTotal, endOffsetTotal, readTopic, type KafkaRecord, type RiskEnv } from './support';

/** `tollgraph risk consume --operator <product>` in a child process. */
export const operatorProcess = (env: Record<string, string>, product: OperatorProduct) => startWorkerProcess(['risk', 'consume', '--operator', product], env);

export const groupsOf = (env: RiskEnv, product: OperatorProduct) => productGroups(env.config, product);

/** Each distinct valid event once (the first copy by event id), in topic order: what any batch recomputation starts from. */
export function distinctEvents(records: KafkaRecord[]): Transaction[] {
  const seen = new Set<string>();
  const out: Transaction[] = [];
  for (const { key, value } of records) {
    const decoded = decodeTransaction(value, key, 4096);
    if (!decoded.ok || seen.has(decoded.tx.eventId)) continue;
    seen.add(decoded.tx.eventId);
    out.push(decoded.tx);
  }
  return out;
}

/** The records the contract refuses, by their position in the topic (partition by key as the producer sends them): reason expected. */
export function refusedCount(records: KafkaRecord[]): Map<string, number> {
  const reasons = new Map<string, number>();
  for (const { key, value } of records) {
    const decoded = decodeTransaction(value, key, 4096);
    if (!decoded.ok) reasons.set(decoded.reason, (reasons.get(decoded.reason) ?? 0) + 1);
  }
  return reasons;
}

/** Every view the product's sinks hold in Redis for these keys (keys without one are left out). */
export async function storedViews<V>(env: RiskEnv, product: OperatorProduct, keys: Iterable<string>): Promise<Map<string, V & { version: number }>> {
  const list = [...keys];
  const values = list.length
    ? await env.services.redis!.mget(list.map((key) => viewKey(env.config.REDIS_KEY_PREFIX, PRODUCT_OUTPUTS[product].namespace, key)))
    : [];
  const out = new Map<string, V & { version: number }>();
  list.forEach((key, i) => {
    if (values[i]) out.set(key, decodeVersioned(values[i]!) as unknown as V & { version: number });
  });
  return out;
}

/**
 * How far the sinks are ahead of the checkpoints: the views in Redis whose version is beyond the
 * checkpointed state's (events applied and written that no checkpoint covers). Read after the
 * operator is dead, it is the uncommitted work the crash left.
 */
export async function viewsAhead(env: RiskEnv, product: OperatorProduct, keys: Iterable<string>): Promise<number> {
  const states = await loadGroupStates(env.services.db.sql, groupsOf(env, product).main, jsonStates<{ n: number }>());
  let ahead = 0;
  for (const [key, view] of await storedViews<{ version: number }>(env, product, keys)) ahead += Math.max(0, view.version - (states.get(key)?.n ?? 0));
  return ahead;
}

/** Waits until a group's checkpoints cover every record now in `topic`. */
export async function waitUntilGroupConsumed(env: RiskEnv, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  const end = await endOffsetTotal(env.kafka, topic);
  await waitFor(`checkpoints of ${groupId} to reach ${end} on ${topic}`, async () => (await checkpointTotal(env.services, groupId)) >= end, timeoutMs, 50);
}

/** Every record on the DLQ now, by source position (a record sent again after a crash counts once), with its reason. */
export async function dlqBySource(env: RiskEnv): Promise<Map<string, { reason: string; sourceTopic: string }>> {
  const records = await readTopic(env.kafka, env.topics.dlq, await endOffsetTotal(env.kafka, env.topics.dlq), 60_000);
  return new Map(
    records.map((record) => [
      `${record.headers['source-topic']}:${record.headers['source-partition']}:${record.headers['source-offset']}`,
      { reason: record.headers['dlq-reason'], sourceTopic: record.headers['source-topic'] },
    ]),
  );
}

/** Produces in slices with a pause between them, so operators work (and are killed) while the stream arrives. */
export async function trickle(env: RiskEnv, records: KafkaRecord[], slices: number, pauseMs: number, before?: (slice: number) => Promise<void>): Promise<void> {
  const size = Math.ceil(records.length / slices);
  for (let i = 0; i < slices; i++) {
    await before?.(i);
    await env.produce(records.slice(i * size, (i + 1) * size));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** Sorted-key JSON, for comparing views whatever their property order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner) =>
    inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : 1))) : inner,
  );
}

/** Keys whose stored value differs from the expected one (missing included), and how many were compared. */
export function differences(stored: Map<string, unknown>, expected: Map<string, unknown>) {
  const wrong = [...expected].filter(([key, value]) => canonical(stored.get(key)) !== canonical(value));
  return {
    expected: expected.size,
    stored: stored.size,
    wrong: wrong.length,
    first: wrong.slice(0, 2).map(([key, value]) => ({ key, value, stored: stored.get(key) })),
  };
}
