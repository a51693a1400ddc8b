import type { BenchContext } from './context';
import { forkChild, freePort, sleep, suffix, type Child } from './lib/common';
import { benchTopics } from './ingestion';
import { serviceProcesses, startCpuMeter, startMachineMeter } from './lib/cpu';
import { figure, percentile, percentiles, withMissing, type Figure, type Percentiles } from './lib/stats';
import { benchFeed, createWorld } from './lib/world';
import { riskHistoryQuery } from './lib/load';
import { createRecordProducer, type KafkaRecord, type RecordProducer } from '../src/kafka/record-producer';
import { kafkaSecurity } from '../src/kafka/security';

export interface FreshnessRun {
  /** Target produce rate, events/s. */
  rate: number;
  /** Which run at this rate (1-based). */
  run: number;
  /** What the producer achieved, events/s. */
  produced: number;
  samples: number;
  /** Probes whose score was not queryable when the run ended (counted as the slowest). */
  missing: number;
  /** Readable: the gateway's clock when it read the event's score (or a newer one) for a query, minus the event time. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The same probes when the prober had the answer in hand: readable plus the rest of the query's round trip. */
  answered: Percentiles;
  /** The same sampled events, until the history query (`riskHistory`) shows them: p50, p99, and how many never did. */
  history: { p50Ms: number; p99Ms: number; missing: number };
  /**
   * Where the latency lies, from each answer's `computedAt` (the consumer's clock when it scored the
   * batch): produced → scored (producer, broker, fetch, decode) and scored → readable (scoring, the
   * Redis write, the poll's resolution). Same machine, same clock. `query`: each latest-score
   * query's round trip, as the prober saw it.
   */
  split: { scored: Percentiles; read: Percentiles; query: Percentiles };
  /** Queries that got no answer (a connection closed under them); their probes were asked again. */
  failedQueries: number;
  /** CPU µs per event produced, of each process meanwhile (the prober's process also produces the feed). */
  cpu: Record<FreshnessCpu, number>;
  /** Of the machine's CPU time meanwhile: the busy share, and the share the hypervisor took (steal). */
  machine: { busy: number; steal: number };
}

export type FreshnessCpu = 'consumer' | 'gateway' | 'feedAndProber' | 'postgres' | 'redis' | 'broker';

export interface FreshnessResult {
  pollMs: number;
  /** Queries of one poller in flight at most. */
  maxInFlight: number;
  seconds: number;
  runs: FreshnessRun[];
  /** Per rate: the runs' p50 and p99, with median and spread (and the history query's p99). */
  byRate: Array<{ rate: number; p50: Figure; p99: Figure; historyP99: Figure }>;
  /**
   * The floor: the same measurement with the least a consumer must do before a score is readable
   * (decode, model, the batch's newest scores to Redis: `latest` in bench/children/consumers.ts),
   * at FLOOR_RATE, with no history to probe. What this machine allows any pipeline.
   */
  floor: { rate: number; runs: FreshnessRun[]; p50: Figure; p99: Figure };
}

const POLL_MS = 5;
/** The rate of the issue's second freshness target (p99 ≤ 150 ms); until 2026-12-06 the benchmark's top rate was 20,000 events/s. */
export const ISSUE_RATE = 25_000;
const FLOOR_RATE = 5_000;
const QUERY = `query Fresh($ids: [ID!]!) { riskScores(customerIds: $ids) { customerId eventTime computedAt freshnessSeconds } }`;
/**
 * A poller asks every POLL_MS whether or not its earlier queries have come back (at most this many
 * in flight), so a slow answer does not coarsen the resolution: it stays one interval. Four were
 * too few: answers of 30-40 ms (the gateway's p99 on this loaded machine) filled them and paused
 * the polls, which the scored → readable p99 showed (33-54 ms with 4, 22-32 with 16).
 */
const MAX_IN_FLIGHT = 16;
/** Customers per history query: one `riskHistory` root field each (at most 20 root fields a query). */
const HISTORY_BATCH = 20;
/** The history is probed less often: its target is a second, and its queries load the same 2 cores. */
const HISTORY_POLL_MS = 50;

interface Probe {
  customerId: string;
  eventTime: number;
}

/**
 * What an answer shows of a customer: the event time of its score, when the gateway read it (event
 * time + `freshnessSeconds`, which the gateway computes from its clock as it reads the score) and,
 * for the latest score, when the consumer computed it.
 */
interface Seen {
  eventTime: number;
  readAt: number;
  computedAt?: number;
}

/** The first answer that showed a probe's event: read by the gateway, and in the prober's hands. */
interface Found {
  probe: Probe;
  seen: Seen;
  receivedAt: number;
}

/**
 * Benchmark 4: the feed at a fixed produce rate, each event stamped with the wall-clock time it
 * is produced at; one pipeline process consumes it live (as `tollgraph risk consume`), and a
 * prober asks the full gateway over GraphQL every POLL_MS for the customers of sampled events
 * (up to 100 per query) until their score is there. Latency = first answer that shows the event's
 * score (or a newer one of the same customer) minus the event time.
 */
export async function freshnessBenchmark(ctx: BenchContext): Promise<FreshnessResult> {
  const { smoke, log } = ctx;
  const world = await createWorld(ctx.urls);
  const kafka = await benchTopics(world);
  const children: Child[] = [];
  // The feed's producer is the pipeline's own (@platformatic/kafka, acks=all): about a third of
  // kafkajs' CPU per record, which the load generator would otherwise take from the cores it shares.
  const producer = await createRecordProducer(world.config.KAFKA_BROKERS!, 'bench-freshness', [kafka.topics.transactions], kafkaSecurity(world.config), 'none');
  try {
    const gateway = forkChild('gateway', {
      name: 'gateway-full',
      env: { ...world.env, BENCH_MODE: 'full', PORT: String(await freePort()), LOG_LEVEL: 'info' },
    });
    children.push(gateway);
    const startConsumer = (kind: 'pipeline' | 'latest', group: string) => {
      const child = forkChild('consumers', {
        name: `consumer-${kind}-live`,
        env: {
          ...world.env,
          BENCH_CONSUMER: kind,
          BENCH_TOPIC: kafka.topics.transactions,
          BENCH_GROUP: group,
          BENCH_TOTAL: '0',
          ...(process.env.BENCH_TRACE ? { BENCH_TRACE: '1' } : {}),
        },
        profileDir: ctx.profileDir,
      });
      children.push(child);
      return child;
    };
    let consumer = startConsumer('pipeline', `${world.config.KAFKA_TOPIC_PREFIX}risk-scorer`);
    const { url } = await gateway.next<{ type: 'ready'; url: string }>('ready');
    await consumer.next('ready');
    const pidOf = (child: Child) => (child.process.pid ? [child.process.pid] : []);
    const processes: Record<FreshnessCpu, () => number[]> = {
      consumer: () => pidOf(consumer),
      gateway: () => pidOf(gateway),
      feedAndProber: () => [process.pid],
      ...serviceProcesses(world.env.DATABASE_URL!),
    };

    const seconds = smoke ? 3 : 10;
    const rates = smoke ? [1_000, 5_000] : [1_000, 5_000, ISSUE_RATE];
    const measureAt = async (rate: number, repeats: number, history: boolean) => {
      // Warm up at the rate, probing as the runs do (joins the group on the first pass, and the
      // gateway compiles its query path: unprobed, the first run's first queries met a cold gateway,
      // 100-200 ms for the probes of its first 300 ms), then measure.
      await drive(url, world.apiKey, producer, kafka.topics.transactions, { rate, seconds: smoke ? 1.5 : 3, history }, processes);
      const runs: FreshnessRun[] = [];
      for (let n = 1; n <= repeats; n++) {
        const run = { ...(await drive(url, world.apiKey, producer, kafka.topics.transactions, { rate, seconds, history }, processes)), run: n };
        runs.push(run);
        log(
          `freshness${history ? '' : ' (floor)'}: ${rate}/s run ${n} (produced ${Math.round(run.produced)}/s): readable p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, max ${run.maxMs.toFixed(1)} ms over ${run.samples} probes (${run.missing} missing); answered p50 ${run.answered.p50Ms.toFixed(1)} / p99 ${run.answered.p99Ms.toFixed(1)} ms; history p50 ${run.history.p50Ms.toFixed(1)} ms, p99 ${run.history.p99Ms.toFixed(1)} ms; produced → scored p50 ${run.split.scored.p50Ms.toFixed(1)} / p99 ${run.split.scored.p99Ms.toFixed(1)} ms, scored → readable p50 ${run.split.read.p50Ms.toFixed(1)} / p99 ${run.split.read.p99Ms.toFixed(1)} ms; a query p50 ${run.split.query.p50Ms.toFixed(1)} / p99 ${run.split.query.p99Ms.toFixed(1)} ms; ${run.failedQueries} failed queries; machine ${(run.machine.busy * 100).toFixed(0)} % busy (steal ${(run.machine.steal * 100).toFixed(0)} %), CPU µs/event ${Object.entries(
            run.cpu,
          )
            .map(([name, us]) => `${name} ${us.toFixed(0)}`)
            .join(', ')}`,
        );
        // Let the consumer catch up before the next run, so one run's backlog does not spill into the next.
        await sleep(smoke ? 1_000 : 3_000);
      }
      return runs;
    };
    const runs: FreshnessRun[] = [];
    // Three runs at the lower rates; one at the issue's rate, beyond the pipeline's capacity on the machine's slower hours (the backlog only grows there).
    for (const rate of rates) runs.push(...(await measureAt(rate, smoke || rate > 10_000 ? 1 : 3, true)));
    const byRate = rates.map((rate) => {
      const at = runs.filter((run) => run.rate === rate);
      return { rate, p50: figure(at.map((run) => run.p50Ms)), p99: figure(at.map((run) => run.p99Ms)), historyP99: figure(at.map((run) => run.history.p99Ms)) };
    });

    // The floor, in place of the pipeline (which leaves the group and the cores to it).
    await consumer.stop();
    consumer = startConsumer('latest', `${world.config.KAFKA_TOPIC_PREFIX}freshness-floor`);
    await consumer.next('ready');
    const floorRuns = await measureAt(FLOOR_RATE, smoke ? 1 : 3, false);
    const floor = { rate: FLOOR_RATE, runs: floorRuns, p50: figure(floorRuns.map((run) => run.p50Ms)), p99: figure(floorRuns.map((run) => run.p99Ms)) };
    return { pollMs: POLL_MS, maxInFlight: MAX_IN_FLIGHT, seconds, runs, byRate, floor };
  } finally {
    // BENCH_TRACE=1: the consumer prints where its batches' time goes (see bench/children/consumers.ts).
    if (process.env.BENCH_TRACE) process.stderr.write(children.map((child) => child.output()).join('\n'));
    await Promise.all(children.map((child) => child.stop()));
    await producer.close();
    await kafka.close();
    await world.close();
  }
}

/** A feed event encoded ahead of the run, its timestamp written into its bytes as it is produced. */
interface PreparedEvent extends KafkaRecord {
  value: Buffer;
  customerId: string;
  stampAt: number;
}

const STAMP = '1970-01-01T00:00:00.000Z';
const STAMP_KEY = '"timestamp":"';

/**
 * A run's events, generated and encoded before it starts: the feed's generator and JSON encoding
 * cost about 10 µs of the load generator's CPU per event, taken from the same 2 cores as the
 * pipeline (0.25 of a core at 25,000 events/s). Each event's wall-clock stamp (a fixed-width ISO
 * string) is written into its bytes as it is sent.
 */
function preparedFeed(rate: number, total: number): PreparedEvent[] {
  const feed = benchFeed({ customers: 100_000, rate, start: Date.now(), seed: Number.parseInt(suffix(), 16), clean: true });
  const events: PreparedEvent[] = [];
  while (events.length < total) {
    const message = feed.next();
    if (!message.event) continue; // (no broken messages in a benchmark feed)
    const value = Buffer.from(JSON.stringify({ ...message.event, timestamp: STAMP }));
    const field = value.indexOf(`${STAMP_KEY}${STAMP}"`);
    if (field < 0) throw new Error('a feed event without its top-level timestamp: the prepared feed cannot stamp it');
    events.push({ key: message.key, value, customerId: message.event.customerId, stampAt: field + STAMP_KEY.length });
  }
  return events;
}

async function drive(
  url: string,
  apiKey: string,
  producer: RecordProducer,
  topic: string,
  { rate, seconds, history: probeHistory }: { rate: number; seconds: number; history: boolean },
  processes: Record<FreshnessCpu, () => number[]>,
): Promise<Omit<FreshnessRun, 'run'>> {
  const total = Math.round(rate * seconds);
  const feed = preparedFeed(rate, total);
  const probes = new Map<string, Probe>();
  const historyProbes = new Map<string, Probe>();
  const found = new Map<string, Found>();
  const historyFound = new Map<string, Found>();
  const queries: number[] = [];
  let failedQueries = 0;
  const probeEveryMs = 10; // at most 100 probes a second, whatever the rate
  let lastProbe = 0;
  let sent = 0;
  const start = Date.now();
  const cpuMeter = startCpuMeter(processes);
  const machineMeter = startMachineMeter();

  // Two pollers over the same samples: the latest score (`riskScores`, up to 100 customers a query)
  // and the history (`riskHistory`, 20 a query). A sample leaves its poller once an answer shows its
  // event; of answers that overlapped, the earliest read counts.
  let polling = true;
  const poll = async (
    waitingFor: Map<string, Probe>,
    into: Map<string, Found>,
    batch: number,
    everyMs: number,
    ask: (ids: string[]) => Promise<Map<string, Seen>>,
    timed?: number[],
  ) => {
    const inFlight = new Set<Promise<void>>();
    while (polling || waitingFor.size > 0 || inFlight.size > 0) {
      const began = Date.now();
      const waiting = [...waitingFor.values()].slice(0, batch);
      if (waiting.length && inFlight.size < MAX_IN_FLIGHT) {
        const asked = performance.now();
        const query = ask(waiting.map((probe) => probe.customerId)).then((seen) => {
          timed?.push(performance.now() - asked);
          const receivedAt = Date.now();
          for (const probe of waiting) {
            const answer = seen.get(probe.customerId);
            if (answer === undefined || answer.eventTime < probe.eventTime) continue;
            waitingFor.delete(probe.customerId);
            const earlier = into.get(probe.customerId);
            if (!earlier || answer.readAt < earlier.seen.readAt) into.set(probe.customerId, { probe, seen: answer, receivedAt });
          }
        });
        inFlight.add(query);
        void query.finally(() => inFlight.delete(query));
      }
      if (!polling && Date.now() - start > (seconds + 10) * 1000) break; // give up on stragglers
      await sleep(Math.max(0, everyMs - (Date.now() - began)));
    }
    await Promise.all(inFlight);
  };
  const graphql = async <T>(query: string, variables: Record<string, unknown>): Promise<T | undefined> => {
    try {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ query, variables }),
      });
      return ((await response.json()) as { data?: T }).data;
    } catch {
      failedQueries++;
      return undefined;
    }
  };
  const seenOf = (score: { eventTime: string; freshnessSeconds: number; computedAt?: string }): Seen => {
    const eventTime = Date.parse(score.eventTime);
    return { eventTime, readAt: eventTime + score.freshnessSeconds * 1000, computedAt: score.computedAt ? Date.parse(score.computedAt) : undefined };
  };
  const pollers = Promise.all([
    poll(
      probes,
      found,
      100,
      POLL_MS,
      async (ids) => {
        type Score = { customerId: string; eventTime: string; computedAt: string; freshnessSeconds: number };
        const data = await graphql<{ riskScores: Array<Score | null> }>(QUERY, { ids });
        return new Map((data?.riskScores ?? []).flatMap((score) => (score ? [[score.customerId, seenOf(score)] as const] : [])));
      },
      queries,
    ),
    poll(historyProbes, historyFound, HISTORY_BATCH, HISTORY_POLL_MS, async (ids) => {
      type Node = { eventTime: string; freshnessSeconds: number };
      const data = await graphql<Record<string, { nodes: Node[] }>>(
        riskHistoryQuery(ids.length, 1, 'nodes { eventTime freshnessSeconds }'),
        Object.fromEntries(ids.map((id, i) => [`c${i}`, id])),
      );
      return new Map(
        ids.flatMap((id, i) => {
          const newest = data?.[`h${i}`]?.nodes[0];
          return newest ? [[id, seenOf(newest)] as const] : [];
        }),
      );
    }),
  ]);

  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate));
    if (due <= sent) {
      await sleep(2);
      continue;
    }
    const now = Date.now();
    const stamp = new Date(now).toISOString();
    const messages: KafkaRecord[] = [];
    for (; sent < due; sent++) {
      const event = feed[sent];
      event.value.write(stamp, event.stampAt, 'latin1');
      messages.push(event);
      if (now - lastProbe >= probeEveryMs && !probes.has(event.customerId)) {
        lastProbe = now;
        probes.set(event.customerId, { customerId: event.customerId, eventTime: now });
        if (probeHistory) historyProbes.set(event.customerId, { customerId: event.customerId, eventTime: now });
      }
    }
    await producer.send(topic, messages);
  }
  const produced = (sent / Math.max(1, Date.now() - start)) * 1000;
  const cpu = cpuMeter.perRequest(sent);
  const machine = machineMeter.stop();
  polling = false;
  await pollers;
  const latest = [...found.values()];
  const readable = withMissing(
    latest.map(({ probe, seen }) => seen.readAt - probe.eventTime),
    probes.size,
  );
  const scored = latest.flatMap(({ probe, seen }) => (seen.computedAt === undefined ? [] : [{ probe, seen, computedAt: seen.computedAt }]));
  const history = withMissing(
    [...historyFound.values()].map(({ probe, seen }) => seen.readAt - probe.eventTime),
    historyProbes.size,
  );
  return {
    rate,
    produced,
    samples: latest.length + probes.size,
    missing: probes.size,
    p50Ms: percentile(readable, 50),
    p99Ms: percentile(readable, 99),
    maxMs: readable.length ? readable[readable.length - 1] : NaN,
    answered: percentiles(latest.map(({ probe, receivedAt }) => receivedAt - probe.eventTime)),
    history: { p50Ms: percentile(history, 50), p99Ms: percentile(history, 99), missing: historyProbes.size },
    split: {
      scored: percentiles(scored.map(({ probe, computedAt }) => computedAt - probe.eventTime)),
      read: percentiles(scored.map(({ seen, computedAt }) => seen.readAt - computedAt)),
      query: percentiles(queries),
    },
    failedQueries,
    cpu,
    machine,
  };
}
