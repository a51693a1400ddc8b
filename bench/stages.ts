import { createRecordProducer, type RecordCompression } from '../src/kafka/record-producer';
import { kafkaSecurity } from '../src/kafka/security';
import { decodeTransaction } from '../src/risk/contract';
import { assess, duplicateStatus } from '../src/risk/model/score';
import { newCustomerState, type CustomerState, type Transaction } from '../src/risk/model/types';
import { riskOutputs } from '../src/risk/pipeline/outputs';
import { customerStates } from '../src/risk/pipeline/state-codec';
import { appendHistory, scoreRow, StateSnapshot, writeCheckpoint, type ScoreRow } from '../src/risk/pipeline/store';
import type { RiskTopics } from '../src/risk/kafka/topics';
import { scoreView } from '../src/risk/view';
import { processesStartingWith, startCpuMeter } from './lib/cpu';
import { benchFeed, type World } from './lib/world';

export type StageService = 'postgres' | 'redis' | 'broker';

/** One stage of the pipeline's per-event work, alone: CPU µs per event in the process doing it, and in the service it talks to. */
export interface StageCost {
  stage: string;
  consumerUs: number;
  service?: StageService;
  serviceUs?: number;
  /** The risk-scores topic: bytes per score in the broker's log (record batches, as compressed). */
  bytesPerEvent?: number;
}

/** The risk-scores topic's codecs (RISK_SCORES_COMPRESSION), measured in turn. */
const CODECS: RecordCompression[] = ['none', 'lz4', 'gzip'];

/** The size of a topic's log on the broker (every partition), by the admin API. */
async function logBytes(world: World, topic: string): Promise<bigint> {
  const { Admin } = await import('@platformatic/kafka');
  const { tls, sasl } = kafkaSecurity(world.config);
  const admin = new Admin({ clientId: 'bench-stages-admin', bootstrapBrokers: world.config.KAFKA_BROKERS!, tls, sasl });
  try {
    const partitions = Array.from({ length: world.config.TRANSACTIONS_PARTITIONS }, (_, i) => i);
    const brokers = await admin.describeLogDirs({ topics: [{ name: topic, partitions }] });
    let bytes = 0n;
    for (const { results } of brokers)
      for (const { topics } of results) for (const { partitions: sizes } of topics) for (const { partitionSize } of sizes) bytes += partitionSize;
    return bytes;
  } finally {
    await admin.close();
  }
}

/** Events per round, as the pipeline's GroupCommit sends them (it caps a round at 4,000). */
const ROUND = 500;
/** Rounds in flight at once, as in GroupCommit. */
const IN_FLIGHT = 4;

/**
 * The pipeline's stages one at a time, in this process, over the same feed as the ingestion
 * benchmark (its disorder and duplicates included), through the pipeline's own functions and the
 * real services: what each costs per event in the consumer and in PostgreSQL, Redis or the broker.
 * The state checkpoint writes one chunk per ROUND events holding each customer the round changed
 * (the pipeline's checkpoints also rewrite as many others again, in turn).
 */
export async function stageCosts(world: World, topics: RiskTopics, events: number): Promise<StageCost[]> {
  const feed = benchFeed({ customers: 100_000, rate: 5_000, start: Date.now() - Math.ceil(events / 5_000) * 1000 });
  const messages = Array.from({ length: events }, () => feed.next());
  const database = new URL(world.env.DATABASE_URL!);
  const services: Record<StageService, () => number[]> = {
    postgres: () => processesStartingWith(`postgres: ${decodeURIComponent(database.username)} ${database.pathname.slice(1)} `),
    redis: () => processesStartingWith('redis-server'),
    broker: () => processesStartingWith('java'),
  };
  const costs: StageCost[] = [];
  const measure = async (stage: string, service: StageService | undefined, work: () => Promise<void> | void, count: number) => {
    const meter = service ? startCpuMeter({ [service]: services[service] } as Record<StageService, () => number[]>) : undefined;
    const before = process.cpuUsage();
    await work();
    const used = process.cpuUsage(before);
    costs.push({ stage, consumerUs: (used.user + used.system) / count, service, serviceUs: service ? meter!.perRequest(count)[service] : undefined });
  };
  const inRounds = async <T>(items: T[], send: (round: T[]) => Promise<unknown>) => {
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < items.length; i += ROUND) {
      const sending = send(items.slice(i, i + ROUND));
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  };

  const transactions: Array<{ tx: Transaction; offset: number }> = [];
  await measure(
    'decode and validate (JSON.parse, contract)',
    undefined,
    () => {
      messages.forEach((message, offset) => {
        const decoded = decodeTransaction(message.value, message.key, world.config.RISK_MAX_EVENT_BYTES);
        if (decoded.ok) transactions.push({ tx: decoded.tx, offset });
      });
    },
    messages.length,
  );

  const states = new Map<string, CustomerState>();
  const rows: ScoreRow[] = [];
  const computedAt = new Date().toISOString();
  await measure(
    'model (features, score, state update)',
    undefined,
    () => {
      for (const { tx, offset } of transactions) {
        let state = states.get(tx.customerId);
        if (!state) states.set(tx.customerId, (state = newCustomerState()));
        // Redeliveries are dropped before the sinks, as the pipeline does: a duplicate event id
        // would make the history's COPY fall back to its INSERT, which is not the steady state.
        if (duplicateStatus(state, tx.eventId, tx.time) === 'duplicate') continue;
        const result = assess(state, tx);
        const view = scoreView(tx, result, computedAt);
        rows.push(scoreRow(view, tx, { partition: 0, offset }));
      }
    },
    transactions.length,
  );
  const views = rows.map((row) => row.view);

  const sql = world.services.db.sql;
  const groupId = `bench-stages-${Date.now()}`;
  await sql.query(`INSERT INTO consumer_checkpoints (group_id, topic, partition, next_offset) VALUES ($1, 'stages', 0, 0)`, [groupId]);
  let checkpointOffset = 0;
  await measure(
    'state checkpoint (serialise the changed states, write the chunk)',
    'postgres',
    async () => {
      for (let i = 0; i < views.length; i += ROUND) {
        const changed = new Set(views.slice(i, i + ROUND).map((view) => view.customerId));
        const to = checkpointOffset + ROUND;
        await writeCheckpoint(sql, groupId, 'bench', {
          topic: 'stages',
          partition: 0,
          fromOffset: BigInt(checkpointOffset),
          toOffset: BigInt(to),
          states: await new StateSnapshot(changed, states, customerStates).serialise(),
          supersedes: null,
          latest: null,
        });
        checkpointOffset = to;
      }
    },
    views.length,
  );
  await sql.query(`DELETE FROM risk_state_chunks WHERE group_id = $1`, [groupId]);
  await sql.query(`DELETE FROM consumer_checkpoints WHERE group_id = $1`, [groupId]);

  await measure('history sink (COPY into risk_scores)', 'postgres', () => inRounds(rows, (round) => appendHistory(sql, [round], 'live')), rows.length);

  const prefix = `${world.config.REDIS_KEY_PREFIX}stages:`;
  const redisOutputs = riskOutputs({ logger: world.services.logger, redis: world.services.redis, redisKeyPrefix: prefix });
  const claim = await redisOutputs.claimLatest('bench-stages', topics.transactions, 0);
  let upTo = 0;
  await measure(
    'latest scores and ranking (Redis transaction)',
    'redis',
    () => inRounds(views, (round) => redisOutputs.writeLatest(round, claim, (upTo += round.length))),
    views.length,
  );

  // Each codec in turn, with the bytes each score then takes in the broker's log.
  for (const compression of CODECS) {
    const producer = await createRecordProducer(
      world.config.KAFKA_BROKERS!,
      'bench-stages',
      [topics.scores, topics.dlq],
      kafkaSecurity(world.config),
      compression,
    );
    try {
      const topicOutputs = riskOutputs({ logger: world.services.logger, producer, scoresTopic: topics.scores, dlqTopic: topics.dlq });
      const before = await logBytes(world, topics.scores);
      await measure(
        `risk-scores topic (@platformatic/kafka, acks=all${compression === 'none' ? '' : `, ${compression}`})`,
        'broker',
        () => inRounds(views, (round) => topicOutputs.beforeCommit({ scores: round, dlq: [] })),
        views.length,
      );
      costs[costs.length - 1].bytesPerEvent = (Number(await logBytes(world, topics.scores)) - Number(before)) / views.length;
    } finally {
      await producer.close();
    }
  }

  const announce = riskOutputs({ logger: world.services.logger, pubsub: world.services.pubsub });
  await measure('live announcement (pub/sub)', 'redis', () => inRounds(views, (round) => announce.afterCommit(round)), views.length);
  return costs;
}
