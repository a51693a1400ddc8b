import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { createLogger } from '../src/ops/logger';
import { ensureRiskTopics, type RiskTopics } from '../src/risk/kafka/topics';
import type { OperatorProduct } from '../src/risk/operators/product-outputs';
import { stageCosts, type StageCost } from './stages';
import type { BenchContext } from './context';
import { forkChild, suffix, type Child } from './lib/common';
import { serviceProcesses, startCpuMeter } from './lib/cpu';
import { figure, type Figure } from './lib/stats';
import { benchFeed, createWorld, type World } from './lib/world';

export type ConsumerKind = 'kafkajs' | 'decode' | 'score' | 'platformatic' | 'pipeline';
/** A consumer process of bench/children/consumers.ts: one of the ingestion kinds, or another stream operator. */
export type ConsumerProcessKind = ConsumerKind | `operator:${OperatorProduct}`;
export type CpuSource = 'consumer' | 'postgres' | 'redis' | 'broker';

export interface IngestionResult {
  events: number;
  partitions: number;
  produceSeconds: number;
  /** events/s per consumer process, per run (the pipeline's: events written by every sink). */
  rates: Record<ConsumerKind, Figure>;
  /**
   * The pipeline's events/s counted to the moment its last batch was scored, as this benchmark
   * counted until 2026-12-07: behind a backlog it scores ahead of its sinks, so that moment comes
   * before the events are written.
   */
  pipelineScored: Figure;
  /** pipeline / raw kafkajs, paired per run. */
  pipelineShare: Figure;
  /** @platformatic/kafka / kafkajs, paired per run. */
  platformaticShare: Figure;
  /** Two pipeline processes in one group at once (the scale-out the group allows): each one's rate, and both together. */
  scaleOut: { first: Figure; second: Figure; total: Figure };
  /**
   * CPU microseconds per event of each process while the pipeline consumed (medians over runs):
   * the consumer itself, the Postgres backends of the benchmark's database, Redis and the broker.
   */
  pipelineCpu: Record<CpuSource, Figure>;
  /**
   * References, paired per run with raw kafkajs: kafkajs + JSON.parse + contract validation
   * (`decode`), and + the model on in-memory states (`score`): the per-event work any pipeline
   * does before its first output, so a reader sees what share of the raw rate it alone leaves.
   */
  decodeShare: Figure;
  scoreShare: Figure;
  /** Each stage of the pipeline alone, in one process, on the real services (bench/stages.ts). */
  stages: { events: number; costs: StageCost[] };
}

/** Topics under the world's prefix, and a producer on them. */
export async function benchTopics(world: World): Promise<{ kafka: Kafka; topics: RiskTopics; producer: Producer; close(): Promise<void> }> {
  const kafka = new Kafka({ clientId: 'tollgraph-bench', brokers: world.config.KAFKA_BROKERS!, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = await ensureRiskTopics(admin, world.config, createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }));
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    kafka,
    topics,
    producer,
    close: async () => {
      await producer.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      const groups = (await admin.listGroups().catch(() => ({ groups: [] }))).groups
        .map((group) => group.groupId)
        .filter((id) => id.startsWith(world.config.KAFKA_TOPIC_PREFIX));
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/** Events a consumer process finished (for the pipeline: wrote) from its group join on, and in how long. */
type Finished = {
  perSecond: number;
  events: number;
  ms: number;
};

interface ConsumedOnce extends Finished {
  cpu: Record<CpuSource, number>;
  /** The pipeline's: the same events counted as they were scored, before their sinks returned. */
  scored?: Finished;
}

/** Starts one consumer process of `kind` on `topic`; its rate and the CPU per event of every process involved. */
export async function consumeOnce(
  ctx: BenchContext,
  world: World,
  kind: ConsumerProcessKind,
  topic: string,
  total: number,
  seconds: number,
  groupId = `${world.config.KAFKA_TOPIC_PREFIX}bench-${kind}-${suffix()}`,
  /** For processes that share the topic: each holds its partitions until the group has given them all out among every one of them. */
  shared?: { settle: SettledGroup; party: number },
): Promise<ConsumedOnce> {
  const child: Child = forkChild('consumers', {
    name: `consumer-${kind}`,
    env: {
      ...world.env,
      BENCH_CONSUMER: kind,
      BENCH_TOPIC: topic,
      BENCH_GROUP: groupId,
      BENCH_TOTAL: String(total),
      BENCH_SECONDS: String(seconds),
      REDIS_KEY_PREFIX: `${world.env.REDIS_KEY_PREFIX}${suffix()}:`,
      ...(shared && { BENCH_HOLD: '1' }),
    },
    profileDir: ctx.profileDir,
  });
  const meterOf = () =>
    startCpuMeter<CpuSource>({
      consumer: () => (child.process.pid ? [child.process.pid] : []),
      ...serviceProcesses(world.env.DATABASE_URL!),
    });
  // From the group join on, as the rate: the process's start before it (loading and compiling its
  // modules, connecting) took 1.1-1.8 s of CPU, 3-5 µs per event of a 400,000-event run.
  let meter = meterOf();
  child.next('joined', (seconds + 90) * 1000).then(
    () => (meter = meterOf()),
    () => undefined,
  );
  try {
    if (shared) {
      child.process.on('message', (message: { type: string; partitions?: number }) => {
        if (message.type === 'assigned') shared.settle.assigned(shared.party, message.partitions ?? 0);
      });
      await shared.settle.settled;
      child.send({ type: 'go' });
    }
    const done = await child.next<{ type: 'done'; scored?: Finished } & Finished>('done', (seconds + 90) * 1000);
    const cpu = meter.perRequest(done.events);
    const scored = done.scored ? `; scored: ${Math.round(done.scored.perSecond)} events/s (${done.scored.events} in ${Math.round(done.scored.ms)} ms)` : '';
    ctx.log(
      `ingestion: ${kind}: ${Math.round(done.perSecond)} events/s (${done.events} events in ${Math.round(done.ms)} ms after joining the group${scored}); CPU µs/event ${Object.entries(
        cpu,
      )
        .map(([name, us]) => `${name} ${us.toFixed(1)}`)
        .join(', ')}`,
    );
    return { perSecond: done.perSecond, events: done.events, ms: done.ms, cpu, scored: done.scored };
  } finally {
    await child.stop();
  }
}

/** Consumer processes of one group, each telling how many partitions its latest join gave it. */
interface SettledGroup {
  assigned(party: number, partitions: number): void;
  /** Resolves once every party holds some and together they hold all `partitions`. */
  settled: Promise<void>;
}

function settledGroup(parties: number, partitions: number): SettledGroup {
  const held = new Map<number, number>();
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  return {
    assigned(party, count) {
      held.set(party, count);
      const counts = [...held.values()];
      if (counts.length === parties && counts.every((n) => n > 0) && counts.reduce((a, b) => a + b, 0) === partitions) settle();
    },
    settled,
  };
}

/**
 * Benchmark 3: one pre-filled topic (10 partitions, synthetic feed with its usual duplicates and
 * disorder), read from the beginning by one consumer process at a time: raw kafkajs, raw
 * @platformatic/kafka, and the full pipeline (fresh consumer group and empty state each run).
 */
export async function ingestionBenchmark(ctx: BenchContext): Promise<IngestionResult> {
  const { smoke, log } = ctx;
  const world = await createWorld(ctx.urls);
  const kafka = await benchTopics(world);
  try {
    const events = smoke ? 20_000 : 400_000;
    const began = performance.now();
    await produce(kafka.producer, kafka.topics.transactions, events);
    const produceSeconds = (performance.now() - began) / 1000;
    log(`ingestion: produced ${events} events in ${produceSeconds.toFixed(1)} s`);

    const runs = smoke ? 1 : 3;
    const seconds = smoke ? 4 : 20;
    const rates: Record<ConsumerKind, number[]> = { kafkajs: [], decode: [], score: [], platformatic: [], pipeline: [] };
    const pipelineScored: number[] = [];
    const pipelineCpu: Record<CpuSource, number[]> = { consumer: [], postgres: [], redis: [], broker: [] };
    const scaleOut: Record<'first' | 'second' | 'total', number[]> = { first: [], second: [], total: [] };
    const sql = world.services.db.sql;
    const shareOfRaw = (of: number[]) => figure(of.map((rate, i) => rate / rates.kafkajs[i]));
    for (let run = 0; run < runs; run++) {
      for (const kind of ['kafkajs', 'decode', 'score', 'platformatic', 'pipeline'] as const) {
        if (kind === 'pipeline') {
          // Every pipeline run starts from nothing: no history, no states, no checkpoints.
          await sql.query('TRUNCATE risk_scores, latest_risk_scores, risk_state_chunks, consumer_checkpoints');
        }
        const { perSecond, cpu, scored } = await consumeOnce(ctx, world, kind, kafka.topics.transactions, events, seconds);
        rates[kind].push(perSecond);
        if (scored) pipelineScored.push(scored.perSecond);
        if (kind === 'pipeline') for (const source of Object.keys(pipelineCpu) as CpuSource[]) pipelineCpu[source].push(cpu[source]);
      }
      // Scale-out: two pipeline processes share the topic's partitions in one fresh group.
      await sql.query('TRUNCATE risk_scores, latest_risk_scores, risk_state_chunks, consumer_checkpoints');
      const group = `${world.config.KAFKA_TOPIC_PREFIX}bench-scale-out-${suffix()}`;
      // Both hold their partitions until the group has given them out between the two: otherwise
      // the first to join consumed at full speed while the other was still starting up (on the
      // same 2 cores), or before it learnt of the rebalance the second one's join started, and
      // half of the topic was consumed again from its first checkpoints.
      const settle = settledGroup(2, world.config.TRANSACTIONS_PARTITIONS);
      const pair = await Promise.all(
        [0, 1].map((party) => consumeOnce(ctx, world, 'pipeline', kafka.topics.transactions, events, seconds, group, { settle, party })),
      );
      const [first, second] = pair.map((one) => (Number.isFinite(one.perSecond) ? one.perSecond : 0)).sort((a, b) => b - a);
      scaleOut.first.push(first);
      scaleOut.second.push(second);
      // The topic's events (a partition that changed hands is partly consumed twice, which is work, not throughput).
      scaleOut.total.push((Math.min(events, pair[0].events + pair[1].events) / Math.max(1, pair[0].ms, pair[1].ms)) * 1000);
      log(`ingestion: two pipeline processes: ${Math.round(first)} + ${Math.round(second)} events/s, together ${Math.round(scaleOut.total.at(-1)!)} events/s`);
    }
    const stages = { events: smoke ? 4_000 : 40_000, costs: [] as StageCost[] };
    stages.costs = await stageCosts(world, kafka.topics, stages.events);
    for (const { stage, consumerUs, service, serviceUs } of stages.costs)
      log(`ingestion: stage ${stage}: ${consumerUs.toFixed(1)} µs/event${service ? `, ${service} ${serviceUs!.toFixed(1)}` : ''}`);
    return {
      events,
      partitions: world.config.TRANSACTIONS_PARTITIONS,
      produceSeconds,
      rates: {
        kafkajs: figure(rates.kafkajs),
        decode: figure(rates.decode),
        score: figure(rates.score),
        platformatic: figure(rates.platformatic),
        pipeline: figure(rates.pipeline),
      },
      pipelineScored: figure(pipelineScored),
      pipelineShare: shareOfRaw(rates.pipeline),
      platformaticShare: shareOfRaw(rates.platformatic),
      scaleOut: { first: figure(scaleOut.first), second: figure(scaleOut.second), total: figure(scaleOut.total) },
      pipelineCpu: {
        consumer: figure(pipelineCpu.consumer),
        postgres: figure(pipelineCpu.postgres),
        redis: figure(pipelineCpu.redis),
        broker: figure(pipelineCpu.broker),
      },
      decodeShare: shareOfRaw(rates.decode),
      scoreShare: shareOfRaw(rates.score),
      stages,
    };
  } finally {
    await kafka.close();
    await world.close();
  }
}

/** Sends `count` feed events as fast as the broker takes them (several requests in flight). */
export async function produce(producer: Producer, topic: string, count: number): Promise<void> {
  const feed = benchFeed({ customers: 100_000, rate: 5_000, start: Date.now() - Math.ceil(count / 5_000) * 1000 });
  const inFlight = new Set<Promise<unknown>>();
  for (let sent = 0; sent < count; ) {
    const n = Math.min(2_000, count - sent);
    const messages = Array.from({ length: n }, () => {
      const { key, value } = feed.next();
      return { key, value };
    });
    sent += n;
    const send = producer.send({ topic, acks: -1, messages });
    inFlight.add(send);
    void send.finally(() => inFlight.delete(send)).catch(() => undefined);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}
