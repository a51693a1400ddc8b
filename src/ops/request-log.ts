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
    // The URL as received (routers mounted on a path rewrite req.url); a key sent in it is refused,
    // and the refusal is logged too: never with the key.
    const url = redactCredentials((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '');
    return (this.child = this.logger.child({ reqId: req.id, method: req.method, url, ...(clientRequestId ? { clientRequestId } : {}) }));
  }
}

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
 */
export function requestLogging(logger: Logger, onEnd: (req: IncomingMessage, res: ServerResponse, seconds: number) => void = () => undefined) {
  const completionLevel = (status: number) => (status >= 500 ? 'error' : status >= 400 ? 'warn' : 'debug');
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
      const level = completed ? completionLevel(res.statusCode) : 'warn';
      if (!logged || !logger.isLevelEnabled(level)) return;
      const detail = logger.isLevelEnabled('trace') ? { req: { headers: req.headers } } : {};
      requestLogger(req)[level](
        { statusCode: res.statusCode, responseTimeMs: Math.round(elapsedMs * 10) / 10, ...detail },
        completed ? 'request completed' : 'request aborted',
      );
    });
    next();
  };
}
