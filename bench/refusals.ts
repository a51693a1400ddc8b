import { Agent, request } from 'node:http';
import type { BenchContext } from './context';
import { forkChild, freePort, sleep, type Child } from './lib/common';
import { startCpuMeter } from './lib/cpu';
import { percentile, sortedCopy } from './lib/stats';
import { createWorld } from './lib/world';

export const REFUSAL_CONCURRENCY = 8;
/** The per-address limits, lifted so they do not cut a burst short (the defaults are 600 and 30 a minute). */
const LIFTED_PER_MINUTE = 100_000_000;
/** How often /healthz is asked, from its own connection, during a burst and while idle. */
export const HEALTHZ_EVERY_MS = 10;

export interface Expected {
  status: number;
  /** `errors[0].extensions.code` of the answer; not checked when absent. */
  code?: string;
}

interface Attack {
  name: string;
  document: string;
  expected: Expected;
}

const fragmentBomb = (levels: number) =>
  [
    'query { ...F1 }',
    ...Array.from({ length: levels - 1 }, (_, i) => `fragment F${i + 1} on Query { ...F${i + 2} ...F${i + 2} }`),
    `fragment F${levels} on Query { health { status } }`,
  ].join('\n');

function aliases(bytes: number): string {
  const parts = ['{'];
  for (let i = 0, size = 2; size < bytes; i++) {
    parts.push(` a${i}: health { status }`);
    size += parts[parts.length - 1].length;
  }
  return `${parts.join('')}}`;
}

const repeated = (times: number) => `{ ${'health { status } '.repeat(times)}}`;
const list = (n: number, item: (i: number) => string) => Array.from({ length: n }, (_, i) => item(i)).join(' ');

export const BASELINE: Attack = { name: 'baseline: { health { status } }', document: '{ health { status } }', expected: { status: 200 } };

/** What the gateway is expected to answer once refusals happen before execution (issue 14). */
export const ATTACKS: Attack[] = [
  { name: 'fragment bomb, 23 levels', document: fragmentBomb(23), expected: { status: 400, code: 'QUERY_TOO_COMPLEX' } },
  { name: 'fragment bomb, 30 levels', document: fragmentBomb(30), expected: { status: 400, code: 'QUERY_TOO_COMPLEX' } },
  { name: '1 MB of aliases', document: aliases(1_000_000), expected: { status: 413 } },
  { name: '200 KB of aliases', document: aliases(200_000), expected: { status: 400, code: 'GRAPHQL_PARSE_FAILED' } },
  {
    name: '20×20 aliases in introspection',
    document: `{ __schema { ${list(20, (t) => `t${t}: types { ${list(20, (f) => `f${f}: name`)} }`)} } }`,
    expected: { status: 400, code: 'QUERY_TOO_COMPLEX' },
  },
  { name: '10,000 duplicated fields', document: repeated(10_000), expected: { status: 400, code: 'GRAPHQL_PARSE_FAILED' } },
  { name: '400 duplicated fields', document: repeated(400), expected: { status: 400, code: 'QUERY_TOO_COMPLEX' } },
  {
    name: 'deep introspection',
    document: '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }',
    expected: { status: 400 },
  },
];

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests with no answer (or, for /healthz, not 200): counted as the slowest. */
  failures: number;
}

export interface RefusalRun {
  name: string;
  /** Bytes of one request body (the document and the JSON around it). */
  bodyBytes: number;
  expected: Expected;
  /** Requests of the burst measured for CPU and wall time (the second one, without the /healthz prober). */
  requests: number;
  seconds: number;
  /** Answers of both bursts, checked: by status and error code ("400 QUERY_TOO_COMPLEX", "no answer: ECONNRESET"), with counts. */
  answers: number;
  observed: Record<string, number>;
  /** Answers other than `expected`. */
  mismatches: number;
  /** The gateway process's CPU (user + system, /proc) over the burst without the prober, per request. */
  cpuMsPerRequest: number;
  /** Client wall time per request, from sending to the end of the answer (burst without the prober). */
  wall: LatencySummary;
  /** /healthz during the first burst. */
  healthz: LatencySummary;
  /** The gateway left requests unanswered (hung or died): a fresh one served what followed. */
  restarted: boolean;
}

export interface RefusalsResult {
  concurrency: number;
  minRequests: number;
  minSeconds: number;
  maxSeconds: number;
  perMinuteLimits: number;
  healthzEveryMs: number;
  /** The prober alone: its latencies, and the gateway's CPU meanwhile (what made the prober unfit for the CPU bursts). */
  idle: { seconds: number; healthz: LatencySummary; cpuMsPerSecond: number };
  baseline: RefusalRun;
  attacks: RefusalRun[];
}

interface Answer {
  status?: number;
  code?: string;
  error?: string;
  ms: number;
}

/** One request on `agent`; never rejects: no answer within `timeoutMs` of silence is an `error`. */
function call(agent: Agent, url: URL, timeoutMs: number, body?: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const began = performance.now();
    // application/graphql-response+json: the media type whose GraphQL request errors keep their 4xx
    // (application/json answers them with 200, docs/contract.md), so a refusal is told by its status.
    const headers = body ? { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'content-length': body.length } : {};
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: body ? 'POST' : 'GET', headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, code: errorCode(Buffer.concat(chunks).toString()), ms: performance.now() - began }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: `no answer in ${timeoutMs / 1000} s` })));
    // An error after the answer (the server closing a connection it refused a large body on) changes nothing.
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, ms: Number.POSITIVE_INFINITY }));
    req.end(body);
  });
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code;
  } catch {
    return undefined;
  }
}

function summary(latencies: number[], failures: number): LatencySummary {
  const sorted = sortedCopy(latencies);
  return { samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? NaN, failures };
}

/** Asks /healthz every HEALTHZ_EVERY_MS (or as soon as the last answer came, if later) until stopped. */
function probeHealthz(base: string, timeoutMs: number): { stop(): Promise<LatencySummary> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL('/healthz', base);
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const answer = await call(agent, url, timeoutMs);
      const ok = answer.status === 200;
      if (!ok) failures++;
      latencies.push(ok ? answer.ms : Number.POSITIVE_INFINITY);
      await sleep(Math.max(0, HEALTHZ_EVERY_MS - answer.ms));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return summary(latencies, failures);
    },
  };
}

interface Plan {
  minRequests: number;
  minSeconds: number;
  maxRequests: number;
  maxSeconds: number;
  timeoutMs: number;
}

interface Gateway {
  child: Child;
  url: string;
  pid: number;
}

type Burst = Pick<RefusalRun, 'requests' | 'seconds' | 'observed' | 'mismatches' | 'cpuMsPerRequest' | 'wall' | 'bodyBytes'> & { healthz?: LatencySummary };

/**
 * A burst of `attack`, REFUSAL_CONCURRENCY requests in flight, each document made unique by a
 * leading comment (so no cache of parsed or analysed documents answers from memory); with
 * `probe`, /healthz is asked meanwhile on its own connection.
 */
async function burst(gateway: Gateway, attack: Attack, plan: Plan, probe: boolean): Promise<Burst> {
  const agent = new Agent({ keepAlive: true, maxSockets: REFUSAL_CONCURRENCY });
  const url = new URL('/graphql', gateway.url);
  // `{"query":"# <i>\n<document>"}`, the document's JSON encoded once.
  const tail = JSON.stringify(attack.document).slice(1);
  const body = (i: number) => Buffer.from(`{"query":"# ${i}\\n${tail}}`);
  const answers: Answer[] = [];
  const healthz = probe ? probeHealthz(gateway.url, plan.timeoutMs) : undefined;
  const cpu = startCpuMeter({ server: () => [gateway.pid] });
  const began = performance.now();
  const elapsed = () => (performance.now() - began) / 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: REFUSAL_CONCURRENCY }, async () => {
      while ((sent < plan.minRequests || elapsed() < plan.minSeconds) && sent < plan.maxRequests && elapsed() < plan.maxSeconds) {
        answers.push(await call(agent, url, plan.timeoutMs, body(sent++)));
      }
    }),
  );
  const seconds = elapsed();
  const cpuMsPerRequest = cpu.perRequest(answers.length).server / 1000;
  agent.destroy();
  const observed: Record<string, number> = {};
  let mismatches = 0;
  for (const answer of answers) {
    const kind = answer.error ? `no answer: ${answer.error}` : `${answer.status}${answer.code ? ` ${answer.code}` : ''}`;
    observed[kind] = (observed[kind] ?? 0) + 1;
    if (answer.status !== attack.expected.status || (attack.expected.code !== undefined && answer.code !== attack.expected.code)) mismatches++;
  }
  return {
    bodyBytes: body(0).length,
    requests: answers.length,
    seconds,
    observed,
    mismatches,
    cpuMsPerRequest,
    wall: summary(
      answers.map((answer) => answer.ms),
      answers.filter((answer) => answer.error).length,
    ),
    healthz: await healthz?.stop(),
  };
}

/**
 * Documents built to make a GraphQL server work before it executes anything, sent without a
 * key to the full gateway (as `npm start` runs it): what each refusal costs the server, and how
 * long /healthz waits meanwhile.
 */
export async function refusalsBenchmark(ctx: BenchContext): Promise<RefusalsResult> {
  const { smoke, log } = ctx;
  const plan: Plan = smoke
    ? { minRequests: 10, minSeconds: 0, maxRequests: 10, maxSeconds: 1, timeoutMs: 15_000 }
    : { minRequests: 200, minSeconds: 3, maxRequests: 5_000, maxSeconds: 30, timeoutMs: 60_000 };
  const settleMs = smoke ? 50 : 200;
  const world = await createWorld(ctx.urls);
  let gateway: Gateway | undefined;
  const start = async (): Promise<Gateway> => {
    const child = forkChild('gateway', {
      name: 'gateway-refusals',
      env: {
        ...world.env,
        BENCH_MODE: 'full',
        PORT: String(await freePort()),
        LOG_LEVEL: 'info',
        ANONYMOUS_REQUESTS_PER_MINUTE: String(LIFTED_PER_MINUTE),
        AUTH_FAILURES_PER_MINUTE: String(LIFTED_PER_MINUTE),
      },
      profileDir: ctx.profileDir,
    });
    gateway = { child, url: '', pid: child.process.pid! };
    gateway.url = (await child.next<{ type: 'ready'; url: string }>('ready')).url;
    return gateway;
  };
  try {
    let current = await start();
    log('refusals: warming up');
    await burst(current, BASELINE, { ...plan, minSeconds: smoke ? 0 : 2 }, false);
    const idleSeconds = smoke ? 0.5 : 3;
    const idleCpu = startCpuMeter({ server: () => [current.pid] });
    const idleProbe = probeHealthz(current.url, plan.timeoutMs);
    await sleep(idleSeconds * 1000);
    const idle = { seconds: idleSeconds, healthz: await idleProbe.stop(), cpuMsPerSecond: idleCpu.perRequest(1).server / 1000 / idleSeconds };
    log(
      `refusals: idle /healthz p50 ${idle.healthz.p50Ms.toFixed(2)} ms, p99 ${idle.healthz.p99Ms.toFixed(2)} ms; gateway CPU ${idle.cpuMsPerSecond.toFixed(2)} ms/s`,
    );

    const runs: RefusalRun[] = [];
    for (const attack of [BASELINE, ...ATTACKS]) {
      // /healthz during a burst (which also warms the gateway up to this document), then CPU and
      // wall time in the same burst without the prober (a probe costs CPU of its own).
      await sleep(settleMs);
      const probed = await burst(current, attack, plan, true);
      await sleep(settleMs);
      const measured = await burst(current, attack, plan, false);
      const healthz = probed.healthz!;
      const observed: Record<string, number> = { ...measured.observed };
      for (const [kind, n] of Object.entries(probed.observed)) observed[kind] = (observed[kind] ?? 0) + n;
      const exited = current.child.process.exitCode !== null || current.child.process.signalCode !== null;
      const restarted = exited || measured.wall.failures + probed.wall.failures + healthz.failures > 0;
      const run: RefusalRun = {
        ...measured,
        name: attack.name,
        expected: attack.expected,
        answers: measured.requests + probed.requests,
        observed,
        mismatches: measured.mismatches + probed.mismatches,
        healthz,
        restarted,
      };
      runs.push(run);
      log(
        `refusals: ${attack.name}: ${Object.entries(observed)
          .map(([kind, n]) => `${kind} ×${n}`)
          .join(
            ', ',
          )} (${run.mismatches} of ${run.answers} not the expected ${attack.expected.status}${attack.expected.code ? ` ${attack.expected.code}` : ''}); ` +
          `CPU ${run.cpuMsPerRequest.toFixed(2)} ms/request (${probed.cpuMsPerRequest.toFixed(2)} with the prober); wall p50 ${run.wall.p50Ms.toFixed(1)} ms p99 ${run.wall.p99Ms.toFixed(1)} ms; /healthz p99 ${healthz.p99Ms.toFixed(1)} ms max ${healthz.maxMs.toFixed(1)} ms`,
      );
      if (restarted) {
        log(
          `refusals: the gateway ${exited ? 'exited' : 'left requests unanswered'} during "${attack.name}"; starting a fresh one\n${current.child.output().slice(-2000)}`,
        );
        await current.child.stop();
        current = await start();
      }
    }
    return {
      concurrency: REFUSAL_CONCURRENCY,
      minRequests: plan.minRequests,
      minSeconds: plan.minSeconds,
      maxSeconds: plan.maxSeconds,
      perMinuteLimits: LIFTED_PER_MINUTE,
      healthzEveryMs: HEALTHZ_EVERY_MS,
      idle,
      baseline: runs[0],
      attacks: runs.slice(1),
    };
  } finally {
    await gateway?.child.stop();
    await world.close();
  }
}
