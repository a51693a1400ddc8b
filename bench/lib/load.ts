import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { percentile, sortedCopy } from './stats';

export interface GraphqlLoad {
  /** Base URL of the server; requests go to `${url}/graphql`. */
  url: string;
  headers: Record<string, string>;
  /** Request bodies, used in turn (e.g. one per customer id). */
  bodies: string[];
}

export interface ClosedLoopResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  /** Non-2xx answers, errors and timeouts: must be 0 for a valid run. */
  failures: number;
}

/**
 * Maximum throughput: autocannon, `connections` keep-alive connections each sending its next
 * request as soon as the previous one is answered (closed loop). autocannon records latency in
 * whole milliseconds (its histogram's resolution).
 */
export async function closedLoop(load: GraphqlLoad, connections: number, seconds: number): Promise<ClosedLoopResult> {
  let next = 0;
  const result = await autocannon({
    url: `${load.url}/graphql`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...load.headers },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: load.bodies[next++ % load.bodies.length] }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.total / (result.duration || seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

export interface OpenLoopResult {
  /** Requests per second actually completed. */
  achievedRate: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  failures: number;
  /** What the failures were: HTTP status or error code, with counts. */
  failureKinds: Record<string, number>;
}

/**
 * A fixed request rate (open loop): request k is due at start + k / rate whatever happened to
 * the earlier ones, over a pool of `connections` keep-alive connections, and its latency counts
 * from when it was due to when its response ended (so a stall is not hidden by sending less:
 * no coordinated omission). Microsecond timing. autocannon's own rate mode is not used for this:
 * it sends each connection's quota for the second back to back and then idles, which measures
 * bursts at full speed rather than a steady rate, and it records whole milliseconds.
 */
export async function openLoop(load: GraphqlLoad, rate: number, seconds: number, connections = 64): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(`${load.url}/graphql`);
  const bodies = load.bodies.map((body) => Buffer.from(body));
  const total = Math.max(1, Math.round(rate * seconds));
  // Requests still unanswered at the end count as the slowest.
  const latencies = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  let done = 0;
  let failures = 0;
  const failureKinds: Record<string, number> = {};
  const failed = (kind: string) => {
    failures++;
    failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
  };
  let issued = 0;
  const start = performance.now();
  let lastEnd = start;

  const send = (k: number) => {
    const due = start + (k * 1000) / rate;
    const body = bodies[k % bodies.length];
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...load.headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const now = performance.now();
          // A failed request counts as the slowest: it never gave the caller its answer.
          latencies[k] = res.statusCode === 200 ? now - due : Number.POSITIVE_INFINITY;
          if (res.statusCode !== 200) failed(`HTTP ${res.statusCode}`);
          lastEnd = now;
          done++;
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      failed(error.code ?? error.message);
      latencies[k] = Number.POSITIVE_INFINITY;
      done++;
    });
    req.end(body);
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (issued < due) send(issued++);
      if (issued < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const deadline = performance.now() + 30_000;
  while (done < total && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  agent.destroy();
  const sorted = sortedCopy(latencies.subarray(0, total));
  return {
    achievedRate: (done / Math.max(1, lastEnd - start)) * 1000,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1],
    samples: total,
    failures: failures + (total - done),
    failureKinds: total > done ? { ...failureKinds, unanswered: total - done } : failureKinds,
  };
}

/** One POST, for warming up and checking the answer. */
export async function graphqlOnce(load: GraphqlLoad, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${load.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...load.headers }, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
