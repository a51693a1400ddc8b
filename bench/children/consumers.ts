/**
 * One consumer process for the ingestion and freshness benchmarks (BENCH_CONSUMER):
 * - `kafkajs`: raw kafkajs, the pipeline's own consumer settings, no processing (count only);
 * - `decode`: the same, plus the per-event work no pipeline can skip: JSON.parse and the
 *   contract's validation of every message (a reference for what share that alone takes);
 * - `score`: the same, plus the model on in-memory customer states (de-duplication, features,
 *   score), still no output and no Postgres: the pipeline's CPU work before any I/O;
 * - `latest`: the `score` consumer, plus what makes a score readable and nothing else: each
 *   batch's newest score per customer written to Redis (one MSET, awaited), joining at the
 *   topic's end; no history, risk-scores topic, checkpoint or claim (the freshness benchmark's
 *   floor: what the machine allows any pipeline with this gateway and prober);
 * - `platformatic`: raw @platformatic/kafka (a peer client), no processing;
 * - `pipeline`: the full risk pipeline exactly as `tollgraph risk consume` runs it
 *   (startRiskConsumer: validate, score, state, Redis, risk-scores topic, Postgres commit);
 * - `operator:<product>`: another stream operator as `tollgraph risk consume --operator <product>`
 *   runs it (customer-spend-features, merchant-risk with its repartition stage).
 *
 * Reports `done` with the rate from the moment the consumer joined its group (so the first fetch,
 * loading partition state and processing all count) to the last batch finished within
 * BENCH_SECONDS, or the batch that reached BENCH_TOTAL (at the latest when BENCH_SECONDS have
 * passed). BENCH_TOTAL=0 runs until stopped. The pipeline's batch is finished when its sinks have
 * returned (its history rows, latest scores and risk-scores records written), not when it is
 * scored: behind a backlog it scores ahead of its sinks, and at the moment its last batch was
 * scored only 47-62 % of the history was written (2026-12-07). The `done` message says when the
 * events were scored too (`scored`).
 */
import { Consumer as PlatformaticConsumer } from '@platformatic/kafka';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { once } from 'node:events';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/ops/logger';
import { decodeTransaction } from '../../src/risk/contract';
import { paceFetch } from '../../src/risk/kafka/batches';
import { riskConsumerSettings, startRiskConsumer } from '../../src/risk/kafka/consumer';
import { riskMetrics } from '../../src/risk/pipeline/metrics';
import { assess, duplicateStatus, type Scored } from '../../src/risk/model/score';
import { newCustomerState, type CustomerState, type Transaction } from '../../src/risk/model/types';
import { encodeLatest, latestKey, scoreView, type RiskScoreView } from '../../src/risk/view';
import type { OperatorProduct } from '../../src/risk/operators/product-outputs';
import { startOperatorProduct } from '../../src/risk/operators/products';
import { connectConfiguredRedis } from '../../src/redis/client';
import { buildServices } from '../../src/services';
import { childMain, hear, tell } from '../lib/common';

const kind = process.env.BENCH_CONSUMER;
const topic = process.env.BENCH_TOPIC!;
const groupId = process.env.BENCH_GROUP!;
const total = Number(process.env.BENCH_TOTAL ?? 0);
const seconds = Number(process.env.BENCH_SECONDS ?? 30);

/** Events finished so far, and the count and time of the last finish within the window. */
class Progress {
  count = 0;
  lastAt = 0;
  lastCount = 0;

  add(n: number): void {
    this.count += n;
    const now = performance.now();
    if (joinedAt === 0 || now - joinedAt > seconds * 1000) return;
    this.lastAt = now;
    this.lastCount = this.count;
  }

  get summary() {
    const ms = this.lastAt - joinedAt;
    return { events: this.lastCount, ms, perSecond: ms > 0 ? (this.lastCount / ms) * 1000 : NaN };
  }
}

/** What the rate counts: batches finished (for the pipeline: written). */
const finished = new Progress();
/** The pipeline's batches scored (their sinks may still be under way). */
const scored = new Progress();
let joinedAt = 0;
let reported = false;

/** The consumer joined its group and got its partitions: the clock starts (fetching, loading state and processing all count). */
function joined(): void {
  if (joinedAt !== 0) return;
  joinedAt = performance.now();
  // The parent measures every process's CPU from here on, as the rate: not the process's start.
  tell({ type: 'joined' });
  // A consumer that shares the topic with others may run out of events before BENCH_TOTAL: it
  // reports what it did within the window when the window ends.
  if (total > 0) setTimeout(report, seconds * 1000 + 100).unref();
}

function report(): void {
  if (reported) return;
  reported = true;
  tell({ type: 'done', ...finished.summary, consumed: finished.count, ...(scored.count > 0 && { scored: scored.summary }) });
}

/** Called after each batch (or message) the consumer has finished with. */
function counted(n: number): void {
  finished.add(n);
  if (reported || joinedAt === 0) return;
  if (total > 0 && (finished.count >= total || performance.now() - joinedAt > seconds * 1000)) report();
}

childMain(async () => {
  const brokers = process.env.KAFKA_BROKERS!.split(',');
  if (kind === 'kafkajs') {
    await rawKafkajs(brokers, (messages) => messages.length);
  } else if (kind === 'decode') {
    const { RISK_MAX_EVENT_BYTES } = loadConfig({ ...process.env });
    await rawKafkajs(brokers, (messages) => {
      for (const message of messages) decodeTransaction(message.value, message.key, RISK_MAX_EVENT_BYTES);
      return messages.length;
    });
  } else if (kind === 'score') {
    const { RISK_MAX_EVENT_BYTES } = loadConfig({ ...process.env });
    const states = new Map<string, CustomerState>();
    await rawKafkajs(brokers, (messages) => {
      scoreAll(messages, states, RISK_MAX_EVENT_BYTES);
      return messages.length;
    });
  } else if (kind === 'latest') {
    // The process's Redis client as the pipeline makes it (auto-pipelined), without the rest of its services.
    const config = loadConfig({ ...process.env });
    const { RISK_MAX_EVENT_BYTES, REDIS_KEY_PREFIX } = config;
    const redis = connectConfiguredRedis(config, createLogger(config));
    // No offline queue: a command before the connection is up would fail.
    if (redis.status !== 'ready') await once(redis, 'ready');
    const states = new Map<string, CustomerState>();
    await rawKafkajs(
      brokers,
      async (messages) => {
        const computedAt = new Date().toISOString();
        const latest = new Map<string, RiskScoreView>();
        scoreAll(messages, states, RISK_MAX_EVENT_BYTES, (tx, result) => {
          if (result.newest) latest.set(tx.customerId, scoreView(tx, result, computedAt));
        });
        const pairs: string[] = [];
        for (const view of latest.values()) pairs.push(latestKey(REDIS_KEY_PREFIX, view.customerId), encodeLatest(view));
        if (pairs.length) await redis.mset(...pairs);
        return messages.length;
      },
      false,
    );
  } else if (kind === 'platformatic') {
    const consumer = new PlatformaticConsumer({
      clientId: 'bench-platformatic',
      groupId,
      bootstrapBrokers: brokers,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_666,
    });
    consumer.on('consumer:group:join', joined);
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
    stream.on('data', () => counted(1));
    stream.on('error', (error: Error) => tell({ type: 'error', message: String(error) }));
  } else if (kind === 'pipeline') {
    const services = await servicesJoining();
    // The pipeline observes a batch's size once the batch's sinks have returned (processor.ts, `sunk`).
    const { batchSize } = riskMetrics(services.metrics.registry);
    const observe = batchSize.observe.bind(batchSize) as (events: number) => void;
    batchSize.observe = ((events: number) => {
      observe(events);
      counted(events);
    }) as typeof batchSize.observe;
    const running = await startRiskConsumer(services, {
      groupId,
      onBatch: (_partition, result) => {
        if (result.kind === 'done') scored.add(result.scored + result.duplicates + result.invalid);
      },
    });
    if (process.env.BENCH_TRACE)
      trace(
        running.pipeline as unknown as {
          options: { outputs: Record<string, (...a: unknown[]) => Promise<unknown>>; sql: { query: (...a: unknown[]) => Promise<unknown> } };
          processBatch: (...a: unknown[]) => Promise<unknown>;
        },
      );
    process.once('SIGTERM', () => void running.stop().finally(() => process.exit(0)));
  } else if (kind?.startsWith('operator:')) {
    // Another stream operator, as `tollgraph risk consume --operator <product>` runs it; counted on the stage reading `transactions`.
    const product = kind.slice('operator:'.length) as OperatorProduct;
    const services = await servicesJoining();
    const running = await startOperatorProduct(services, product, { groupSuffix: `-${groupId}`, onIngested: counted });
    process.once('SIGTERM', () => void running.stop().finally(() => process.exit(0)));
  } else {
    throw new Error(`BENCH_CONSUMER must be kafkajs, decode, score, latest, platformatic, pipeline or operator:<product> (got ${kind})`);
  }
  tell({ type: 'ready' });
});

/** The model over a batch's valid events, on in-memory customer states; `scored` sees each event counted in. */
function scoreAll(
  messages: KafkaMessage[],
  states: Map<string, CustomerState>,
  maxEventBytes: number,
  scored?: (tx: Transaction, result: Scored) => void,
): void {
  for (const message of messages) {
    const decoded = decodeTransaction(message.value, message.key, maxEventBytes);
    if (!decoded.ok) continue;
    const { tx } = decoded;
    let state = states.get(tx.customerId);
    if (!state) states.set(tx.customerId, (state = newCustomerState()));
    if (duplicateStatus(state, tx.eventId, tx.time) !== 'new') continue;
    const result = assess(state, tx);
    scored?.(tx, result);
  }
}

/** How long a held consumer's fetch loop sleeps while all its partitions are paused (kafkajs' maxWaitTime). */
const HELD_FETCH_WAIT_MS = 50;

/** The process's services, whose Kafka consumers (which the pipelines build themselves) report their group join like the others. */
async function servicesJoining() {
  const config = loadConfig({ ...process.env });
  const services = await buildServices(config, createLogger(config));
  const kafka = services.kafka!;
  const consumerOf = kafka.consumer.bind(kafka);
  kafka.consumer = (options) => {
    // A kafkajs consumer whose partitions are all paused sleeps its maxWaitTime (5 s by default)
    // before it looks again: resumed meanwhile, a held process went on up to 5 s after the other.
    // Nowhere else does the wait matter while the topic has events for every fetch.
    const consumer = consumerOf(process.env.BENCH_HOLD ? { ...options, maxWaitTimeInMs: HELD_FETCH_WAIT_MS } : options);
    if (process.env.BENCH_TRACE) consumer.on(consumer.events.FETCH, () => fetches++);
    if (!process.env.BENCH_HOLD) {
      consumer.on(consumer.events.GROUP_JOIN, joined);
      return consumer;
    }
    // Processes that are to share the topic: each one holds its partitions (paused) and says how
    // many it got at every join, until the parent has seen the group settle and says go.
    let held = true;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (!held) return;
      consumer.pause([{ topic }]);
      tell({ type: 'assigned', partitions: (payload.memberAssignment[topic] ?? []).length });
    });
    void hear('go').then(() => {
      held = false;
      joined();
      consumer.resume([{ topic }]);
    });
    return consumer;
  };
  return services;
}

/** A plain kafkajs consumer with the pipeline's consumer settings; `handle` does the work of a batch and says how many events it finished; `fromBeginning` false joins at the topic's end. */
async function rawKafkajs(brokers: string[], handle: (messages: KafkaMessage[]) => number | Promise<number>, fromBeginning = true): Promise<void> {
  const settings = riskConsumerSettings(loadConfig({ ...process.env }));
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, ...settings.consumer });
  consumer.on(consumer.events.GROUP_JOIN, joined);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning });
  await consumer.run({
    autoCommit: false,
    ...settings.run,
    eachBatch: async ({ batch }) => {
      const arrivedAt = performance.now();
      counted(await handle(batch.messages));
      await paceFetch(batch, arrivedAt, settings.fetchLingerMs);
    },
  });
}

/** BENCH_TRACE: fetch requests answered since the last trace line. */
let fetches = 0;

/** BENCH_TRACE: where a batch's wall time goes (diagnostics while tuning; not part of the report). */
function trace(pipeline: {
  options: { outputs: Record<string, (...a: unknown[]) => Promise<unknown>>; sql: { query: (...a: unknown[]) => Promise<unknown> } };
  processBatch: (...a: unknown[]) => Promise<unknown>;
}) {
  const totals: Record<string, { n: number; ms: number }> = {};
  const wrap = (name: string, target: Record<string, unknown>, key: string) => {
    const original = target[key] as (...a: unknown[]) => Promise<unknown>;
    target[key] = async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await original.apply(target, args);
      } finally {
        const entry = (totals[name] ??= { n: 0, ms: 0 });
        entry.n++;
        entry.ms += performance.now() - t;
      }
    };
  };
  // The process's own stalls: event-loop delay and garbage-collection pauses, per interval.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const gc = { n: 0, ms: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.n++;
      gc.ms += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  wrap('batch', pipeline as unknown as Record<string, unknown>, 'processBatch');
  wrap('beforeCommit', pipeline.options.outputs, 'beforeCommit');
  wrap('sql', pipeline.options.sql, 'query');
  let eluPrev = performance.eventLoopUtilization();
  setInterval(() => {
    const eluNow = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(eluNow, eluPrev).utilization;
    eluPrev = eluNow;
    process.stderr.write(
      `trace elu=${elu.toFixed(2)} ${Object.entries(totals)
        .map(([name, { n, ms }]) => `${name} n=${n} avg=${(ms / Math.max(1, n)).toFixed(1)}ms`)
        .join(
          ' ',
        )} fetches=${fetches} loop-delay p99=${(delay.percentile(99) / 1e6).toFixed(1)}ms max=${(delay.max / 1e6).toFixed(1)}ms gc n=${gc.n} total=${gc.ms.toFixed(0)}ms max=${gc.maxMs.toFixed(1)}ms\n`,
    );
    for (const key of Object.keys(totals)) delete totals[key];
    delay.reset();
    fetches = 0;
    Object.assign(gc, { n: 0, ms: 0, maxMs: 0 });
  }, 2000).unref();
}
