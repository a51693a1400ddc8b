import type { BenchContext } from './context';
import { forkChild, freePort, sleep, suffix, type Child } from './lib/common';
import { benchTopics } from './ingestion';
import { figure, percentile, sortedCopy, type Figure } from './lib/stats';
import { benchFeed, createWorld } from './lib/world';

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
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The same sampled events, until the history query (`riskHistory`) shows them: p50, p99, and how many never did. */
  history: { p50Ms: number; p99Ms: number; missing: number };
}

export interface FreshnessResult {
  pollMs: number;
  seconds: number;
  runs: FreshnessRun[];
  /** Per rate: the runs' p50 and p99, with median and spread (and the history query's p99). */
  byRate: Array<{ rate: number; p50: Figure; p99: Figure; historyP99: Figure }>;
}

const POLL_MS = 5;
const QUERY = `query Fresh($ids: [ID!]!) { riskScores(customerIds: $ids) { customerId eventId eventTime } }`;
/** Customers per history query: one `riskHistory` root field each (at most 20 root fields a query). */
const HISTORY_BATCH = 20;
/** The history is probed less often: its target is a second, and its queries load the same 2 cores. */
const HISTORY_POLL_MS = 50;
const historyQuery = (n: number) =>
  `query FreshHistory(${Array.from({ length: n }, (_, i) => `$c${i}: ID!`).join(', ')}) { ${Array.from({ length: n }, (_, i) => `h${i}: riskHistory(customerId: $c${i}, first: 1) { nodes { eventTime } }`).join(' ')} }`;

interface Probe {
  customerId: string;
  eventTime: number;
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
  try {
    const gateway = forkChild('gateway', {
      name: 'gateway-full',
      env: { ...world.env, BENCH_MODE: 'full', PORT: String(await freePort()), LOG_LEVEL: 'info' },
    });
    children.push(gateway);
    const consumer = forkChild('consumers', {
      name: 'consumer-pipeline-live',
      env: {
        ...world.env,
        BENCH_CONSUMER: 'pipeline',
        BENCH_TOPIC: kafka.topics.transactions,
        BENCH_GROUP: `${world.config.KAFKA_TOPIC_PREFIX}risk-scorer`,
        BENCH_TOTAL: '0',
        ...(process.env.BENCH_TRACE ? { BENCH_TRACE: '1' } : {}),
      },
      profileDir: ctx.profileDir,
    });
    children.push(consumer);
    const { url } = await gateway.next<{ type: 'ready'; url: string }>('ready');
    await consumer.next('ready');

    const seconds = smoke ? 3 : 10;
    const rates = smoke ? [1_000, 5_000] : [1_000, 5_000, 20_000];
    const runs: FreshnessRun[] = [];
    for (const rate of rates) {
      // Warm up at the rate (joins the group on the first pass), then measure. Three runs where
      // the pipeline keeps up; one beyond its capacity, where the backlog only grows.
      await drive(url, world.apiKey, kafka.producer, kafka.topics.transactions, rate, smoke ? 1.5 : 3, false);
      const repeats = smoke || rate > 10_000 ? 1 : 3;
      for (let n = 1; n <= repeats; n++) {
        const run = { ...(await drive(url, world.apiKey, kafka.producer, kafka.topics.transactions, rate, seconds, true)), run: n };
        runs.push(run);
        log(
          `freshness: ${rate}/s run ${n} (produced ${Math.round(run.produced)}/s): p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, max ${run.maxMs.toFixed(1)} ms over ${run.samples} probes (${run.missing} missing); history p50 ${run.history.p50Ms.toFixed(1)} ms, p99 ${run.history.p99Ms.toFixed(1)} ms`,
        );
        // Let the consumer catch up before the next run, so one run's backlog does not spill into the next.
        await sleep(smoke ? 1_000 : 3_000);
      }
    }
    const byRate = rates.map((rate) => {
      const at = runs.filter((run) => run.rate === rate);
      return { rate, p50: figure(at.map((run) => run.p50Ms)), p99: figure(at.map((run) => run.p99Ms)), historyP99: figure(at.map((run) => run.history.p99Ms)) };
    });
    return { pollMs: POLL_MS, seconds, runs, byRate };
  } finally {
    // BENCH_TRACE=1: the consumer prints where its batches' time goes (see bench/children/consumers.ts).
    if (process.env.BENCH_TRACE) process.stderr.write(children.map((child) => child.output()).join('\n'));
    await Promise.all(children.map((child) => child.stop()));
    await kafka.close();
    await world.close();
  }
}

async function drive(
  url: string,
  apiKey: string,
  producer: import('kafkajs').Producer,
  topic: string,
  rate: number,
  seconds: number,
  measure: boolean,
): Promise<Omit<FreshnessRun, 'run'>> {
  const feed = benchFeed({ customers: 100_000, rate, start: Date.now(), seed: Number.parseInt(suffix(), 16), clean: true });
  const total = Math.round(rate * seconds);
  const probes = new Map<string, Probe>();
  const latencies: number[] = [];
  const probeEveryMs = 10; // at most 100 probes a second, whatever the rate
  let lastProbe = 0;
  let sent = 0;
  const start = Date.now();

  // Two pollers over the same samples: the latest score (`riskScores`, up to 100 customers a query)
  // and the history (`riskHistory`, 20 a query); each drops a sample once its answer shows the event.
  const historyProbes = new Map<string, Probe>();
  const historyLatencies: number[] = [];
  let polling = true;
  const poll = async (
    waitingFor: Map<string, Probe>,
    found: number[],
    batch: number,
    everyMs: number,
    ask: (ids: string[]) => Promise<Map<string, number>>,
  ) => {
    while (polling || waitingFor.size > 0) {
      const began = Date.now();
      const waiting = [...waitingFor.values()].slice(0, batch);
      if (waiting.length) {
        const seen = await ask(waiting.map((probe) => probe.customerId));
        const now = Date.now();
        for (const probe of waiting) {
          const eventTime = seen.get(probe.customerId);
          if (eventTime !== undefined && eventTime >= probe.eventTime) {
            found.push(now - probe.eventTime);
            waitingFor.delete(probe.customerId);
          }
        }
        if (!polling && Date.now() - start > (seconds + 10) * 1000) break; // give up on stragglers
      }
      await sleep(Math.max(0, everyMs - (Date.now() - began)));
    }
  };
  const graphql = async <T>(query: string, variables: Record<string, unknown>): Promise<T | undefined> => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query, variables }),
    });
    return ((await response.json()) as { data?: T }).data;
  };
  const pollers = Promise.all([
    poll(probes, latencies, 100, POLL_MS, async (ids) => {
      const data = await graphql<{ riskScores: Array<{ customerId: string; eventTime: string } | null> }>(QUERY, { ids });
      return new Map((data?.riskScores ?? []).flatMap((score) => (score ? [[score.customerId, Date.parse(score.eventTime)] as const] : [])));
    }),
    poll(historyProbes, historyLatencies, HISTORY_BATCH, HISTORY_POLL_MS, async (ids) => {
      const data = await graphql<Record<string, { nodes: Array<{ eventTime: string }> }>>(
        historyQuery(ids.length),
        Object.fromEntries(ids.map((id, i) => [`c${i}`, id])),
      );
      return new Map(
        ids.flatMap((id, i) => {
          const newest = data?.[`h${i}`]?.nodes[0];
          return newest ? [[id, Date.parse(newest.eventTime)] as const] : [];
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
    const messages: Array<{ key: string; value: Buffer }> = [];
    for (; sent < due; sent++) {
      const message = feed.next();
      if (!message.event) continue; // (no broken messages in a benchmark feed)
      const event = { ...message.event, timestamp: stamp };
      messages.push({ key: message.key, value: Buffer.from(JSON.stringify(event)) });
      if (measure && now - lastProbe >= probeEveryMs && !probes.has(event.customerId)) {
        lastProbe = now;
        probes.set(event.customerId, { customerId: event.customerId, eventTime: now });
        historyProbes.set(event.customerId, { customerId: event.customerId, eventTime: now });
      }
    }
    await producer.send({ topic, acks: -1, messages });
  }
  const produced = (sent / Math.max(1, Date.now() - start)) * 1000;
  polling = false;
  await pollers;
  const missing = probes.size;
  const sorted = sortedCopy([...latencies, ...Array.from({ length: missing }, () => Number.POSITIVE_INFINITY)]);
  const history = sortedCopy([...historyLatencies, ...Array.from({ length: historyProbes.size }, () => Number.POSITIVE_INFINITY)]);
  return {
    rate,
    produced,
    samples: latencies.length + missing,
    missing,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    history: { p50Ms: percentile(history, 50), p99Ms: percentile(history, 99), missing: historyProbes.size },
  };
}
