import autocannon from 'autocannon';
import { connect, type Socket } from 'node:net';
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
 * the earlier ones, over a pool of `connections` keep-alive connections (opened before the clock
 * starts), and its latency counts from when it was due to when its response ended (so a stall is
 * not hidden by sending less: no coordinated omission). Microsecond timing. autocannon's own rate
 * mode is not used for this: it sends each connection's quota for the second back to back and
 * then idles, which measures bursts at full speed rather than a steady rate, and it records whole
 * milliseconds. Nor is node:http: its agent spent 70-100 us of CPU per request (undici 56-80),
 * taken from the two cores the server under test shares; each request here is one prepared
 * buffer written to a socket and each answer a few byte comparisons (31-37 us).
 */
export async function openLoop(load: GraphqlLoad, rate: number, seconds: number, connections = 64): Promise<OpenLoopResult> {
  const target = new URL(`${load.url}/graphql`);
  const requests = load.bodies.map((body) => requestBytes(target, load.headers, body));
  const total = Math.max(1, Math.round(rate * seconds));
  // Requests still unanswered at the end count as the slowest.
  const latencies = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  let done = 0;
  let failures = 0;
  const failureKinds: Record<string, number> = {};
  const failed = (k: number, kind: string) => {
    failures++;
    failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
    latencies[k] = Number.POSITIVE_INFINITY;
    done++;
  };
  let due = 0;
  let next = 0;
  let start = 0;
  let lastEnd = 0;
  let running = true;
  const wires = new Set<Wire>();
  const idle: Wire[] = [];

  const dispatch = () => {
    while (next < due && idle.length) {
      const k = next++;
      idle.pop()!.send(k, requests[k % requests.length]);
    }
  };
  const handlers: WireHandlers = {
    answered: (wire, k, status, reusable) => {
      const now = performance.now();
      lastEnd = now;
      if (status === 200) {
        latencies[k] = now - (start + (k * 1000) / rate);
        done++;
      } else failed(k, `HTTP ${status}`);
      if (reusable) idle.push(wire);
      dispatch();
    },
    closed: (wire, k) => {
      wires.delete(wire);
      const at = idle.indexOf(wire);
      if (at >= 0) idle.splice(at, 1);
      if (k !== undefined) failed(k, 'connection closed');
      if (running) void open().then(dispatch, () => undefined);
    },
  };
  const open = async () => {
    const wire = await Wire.open(target, handlers);
    wires.add(wire);
    idle.push(wire);
  };
  await Promise.all(Array.from({ length: connections }, open));

  start = performance.now();
  lastEnd = start;
  await new Promise<void>((resolve) => {
    const tick = () => {
      due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      dispatch();
      if (due < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const deadline = performance.now() + 30_000;
  while (done < total && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  running = false;
  for (const wire of wires) wire.destroy();
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

function requestBytes(target: URL, headers: Record<string, string>, body: string): Buffer {
  const payload = Buffer.from(body);
  const lines = [`POST ${target.pathname} HTTP/1.1`, `host: ${target.host}`, 'content-type: application/json', `content-length: ${payload.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

interface WireHandlers {
  /** `reusable`: the connection stays open for the next request. */
  answered(wire: Wire, k: number, status: number, reusable: boolean): void;
  /** The connection is gone (`k`: the request it had in flight, now failed). */
  closed(wire: Wire, k: number | undefined): void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** One keep-alive HTTP/1.1 connection with at most one request in flight, reading just enough of each answer to know where it ends. */
class Wire {
  private inFlight: number | undefined;
  private received: Buffer | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly handlers: WireHandlers,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const k = this.inFlight;
      this.inFlight = undefined;
      handlers.closed(this, k);
    });
  }

  static open(target: URL, handlers: WireHandlers): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Wire(socket, handlers));
      });
    });
  }

  send(k: number, request: Buffer): void {
    this.inFlight = k;
    this.socket.write(request);
  }

  destroy(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    const bytes = this.received ? Buffer.concat([this.received, chunk]) : chunk;
    const k = this.inFlight;
    const end = k === undefined ? undefined : answerEnd(bytes);
    if (k === undefined || end === undefined) {
      this.received = bytes;
      return;
    }
    this.received = end.at < bytes.length ? bytes.subarray(end.at) : undefined;
    this.inFlight = undefined;
    // A server that ends the connection after this answer: the close that follows opens another.
    this.handlers.answered(this, k, Number(bytes.toString('latin1', 9, 12)), !end.close);
  }
}

/** Where the first answer in `bytes` ends (undefined: not all there yet), and whether the server closes the connection after it. */
function answerEnd(bytes: Buffer): { at: number; close: boolean } | undefined {
  const headEnd = bytes.indexOf(CRLF2);
  if (headEnd < 0) return undefined;
  const head = bytes.toString('latin1', 0, headEnd).toLowerCase();
  const close = head.includes('\r\nconnection: close');
  const bodyStart = headEnd + 4;
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) {
    const at = bodyStart + Number(length[1]);
    return at <= bytes.length ? { at, close } : undefined;
  }
  if (!head.includes('\r\ntransfer-encoding: chunked')) return { at: bodyStart, close };
  let at = bodyStart;
  for (;;) {
    const lineEnd = bytes.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(bytes.toString('latin1', at, lineEnd), 16);
    at = lineEnd + 2 + size + 2;
    if (at > bytes.length) return undefined;
    if (size === 0) return { at, close };
  }
}

/** A query of `n` root fields, \`h0\` to \`h{n-1}\`: each customer's newest `first` scores (variables \`c0\`...), with `selection`. */
export function riskHistoryQuery(n: number, first: number, selection: string): string {
  const variables = Array.from({ length: n }, (_, i) => `$c${i}: ID!`).join(', ');
  const fields = Array.from({ length: n }, (_, i) => `h${i}: riskHistory(customerId: $c${i}, first: ${first}) { ${selection} }`).join(' ');
  return `query RiskHistory(${variables}) { ${fields} }`;
}

/** One POST, for warming up and checking the answer. */
export async function graphqlOnce(load: GraphqlLoad, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${load.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...load.headers }, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
