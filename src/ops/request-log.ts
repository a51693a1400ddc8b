import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redactCredentials } from '../keys/secret';
import type { Logger } from './logger';

declare module 'node:http' {
  interface IncomingMessage {
    /** Our id for this request (also the usage ledger's key and the `x-request-id` header). */
    id: string;
    /** Set by `requestLogging`. */
    requestLog?: RequestLog;
  }
}

const CLIENT_REQUEST_ID = /^[\w.:-]{1,128}$/;
const UNLOGGED = new Set(['/healthz', '/metrics']);

/**
 * A request's logger, made on first use: pino serialises a child's bindings when the child is
 * created, and on the hot path (a successful query at level info) nothing is logged, so creating
 * it eagerly (as pino-http does) was measurable CPU for no line.
 */
class RequestLog {
  private child?: Logger;

  constructor(
    private readonly logger: Logger,
    private readonly req: IncomingMessage,
  ) {}

  get(): Logger {
    if (this.child) return this.child;
    const { req } = this;
    const given = req.headers['x-request-id'];
    const clientRequestId = typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
    // A key sent in the URL is refused, and the refusal is logged too: never with the key.
    const url = redactCredentials(receivedUrl(req));
    return (this.child = this.logger.child({ reqId: req.id, method: req.method, url, ...(clientRequestId ? { clientRequestId } : {}) }));
  }
}

/** The URL as received: a router mounted on a path (express's) leaves only the rest of it in `url`. */
export const receivedUrl = (req: IncomingMessage & { originalUrl?: string }): string => req.originalUrl ?? req.url ?? '';

/** The request's logger: every line carries the request id, method and path. */
export function requestLogger(req: IncomingMessage): Logger {
  if (!req.requestLog) throw new Error('requestLogging() is not installed before this route');
  return req.requestLog.get();
}

/**
 * Request ids, per-request logging and the end of every request, observed once (`onEnd`, for
 * the HTTP metrics). The request id is always ours: it keys the usage ledger, so a client must
 * not choose it; a caller's own x-request-id is kept as clientRequestId. Completion lines: 5xx
 * at error, 4xx at warn, the rest at debug; headers only at trace (redacted by the logger).
 * Refusals (4xx, 503, aborted requests) go through a RefusalLog: one line in full per status and
 * second, the rest of that second counted into one line.
 */
export function requestLogging(logger: Logger, onEnd: (req: IncomingMessage, res: ServerResponse, seconds: number) => void = () => undefined) {
  const refusals = new RefusalLog(logger);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const began = performance.now();
    req.id = randomUUID();
    req.requestLog = new RequestLog(logger, req);
    res.setHeader('x-request-id', req.id);
    const logged = !UNLOGGED.has(req.url ?? '');
    res.once('close', () => {
      const completed = res.writableFinished;
      const elapsedMs = performance.now() - began;
      if (completed) onEnd(req, res, elapsedMs / 1000);
      const status = completed ? res.statusCode : ABORTED;
      const level = levelOf(status);
      if (!logged || !logger.isLevelEnabled(level)) return;
      if (isRefusal(status) && !refusals.first(status)) return;
      const detail = logger.isLevelEnabled('trace') ? { req: { headers: req.headers } } : {};
      requestLogger(req)[level](
        { statusCode: res.statusCode, responseTimeMs: Math.round(elapsedMs * 10) / 10, ...detail },
        completed ? 'request completed' : 'request aborted',
      );
    });
    next();
  };
}

/** The key of aborted requests (the client went away before the answer) among the refusals' statuses. */
const ABORTED = 0;

/** The level of a request's lines (its completion line, and a refusal's count): 5xx error, 4xx and aborted requests warn, the rest debug. */
const levelOf = (status: number) => (status >= 500 ? 'error' : status >= 400 || status === ABORTED ? 'warn' : 'debug');

/** A refusal's line in full is written once per status and interval; the others are counted. */
export const REFUSAL_LOG_INTERVAL_MS = 1_000;

/** What a client is refused or walks away from: 4xx, 503 (shed under overload, or a dependency down) and aborted requests. Other 5xx are faults: each is logged. */
const isRefusal = (status: number) => status === ABORTED || (status >= 400 && status < 500) || status === 503;

interface RefusalWindow {
  until: number;
  /** Refusals of this status since its line in full. */
  more: number;
}

/**
 * Refusals logged at most once per status and interval: the first in full (request id, URL,
 * status), the rest of the interval counted into one `refusals not logged one by one` line when it ends.
 * A flood of refused requests (an attack, overload shedding, a client retrying without backing
 * off) then costs a line a second instead of a JSON line and a write each, on the path that must
 * stay cheapest; the answered ones are counted by status in tollgraph_http_request_duration_seconds.
 */
export class RefusalLog {
  private readonly windows = new Map<number, RefusalWindow>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True: log this refusal in full; false: it was counted into its interval's line. */
  first(status: number): boolean {
    const now = this.now();
    const window = this.windows.get(status);
    if (window && now < window.until) {
      window.more++;
      if (!this.timer) this.arm();
      return false;
    }
    if (window) this.summarise(status, window);
    this.windows.set(status, { until: now + this.intervalMs, more: 0 });
    return true;
  }

  /** Writes the counts of the intervals that have ended (also called by the timer a count arms). */
  flush(): void {
    const now = this.now();
    for (const [status, window] of this.windows) {
      if (now < window.until) continue;
      this.summarise(status, window);
      this.windows.delete(status);
    }
    this.arm();
  }

  /** A timer for the end of the first interval with refusals counted, if any. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const window of this.windows.values()) if (window.more > 0) next = Math.min(next, window.until);
    if (next !== Number.POSITIVE_INFINITY) this.timer = setTimeout(() => this.flush(), Math.max(0, next - this.now())).unref();
  }

  private summarise(status: number, window: RefusalWindow): void {
    if (window.more === 0) return;
    this.logger[levelOf(status)](
      { statusCode: status === ABORTED ? undefined : status, aborted: status === ABORTED || undefined, notLogged: window.more, intervalMs: this.intervalMs },
      'refusals not logged one by one',
    );
    window.more = 0;
  }
}
