import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redactCredentials } from '../keys/secret';
import type { Logger } from './logger';

declare module 'node:http' {
  interface IncomingMessage {
    /** Our id for this request (also the usage ledger's key and the `x-request-id` header). */
    id: string;
  }
}

const CLIENT_REQUEST_ID = /^[\w.:-]{1,128}$/;
const UNLOGGED = new Set(['/healthz', '/metrics']);
const loggers = new WeakMap<IncomingMessage, () => Logger>();

/** The request's logger: every line carries the request id, method and path. */
export function requestLogger(req: IncomingMessage): Logger {
  const get = loggers.get(req);
  if (!get) throw new Error('requestLogging() is not installed before this route');
  return get();
}

/**
 * Request ids and per-request logging. The request id is always ours: it keys the usage ledger,
 * so a client must not choose it; a caller's own x-request-id is kept as clientRequestId.
 *
 * The per-request child logger is made on first use: pino serialises a child's bindings when the
 * child is created, and on the hot path (a successful query at level info) nothing is logged, so
 * creating it eagerly (as pino-http does) was measurable CPU for no line. Completion lines: 5xx
 * at error, 4xx at warn, the rest at debug; headers only at trace (redacted by the logger).
 */
export function requestLogging(logger: Logger) {
  const completionLevel = (status: number) => (status >= 500 ? 'error' : status >= 400 ? 'warn' : 'debug');
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const id = randomUUID();
    const began = performance.now();
    // Captured now: routers mounted on a path rewrite req.url for their handlers. A key sent in
    // the URL is refused, but the refusal is logged too: never with the key.
    const url = redactCredentials(req.url ?? '');
    req.id = id;
    res.setHeader('x-request-id', id);
    let child: Logger | undefined;
    const log = () => {
      if (child) return child;
      const given = req.headers['x-request-id'];
      const clientRequestId = typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
      return (child = logger.child({ reqId: id, method: req.method, url, ...(clientRequestId ? { clientRequestId } : {}) }));
    };
    loggers.set(req, log);
    if (!UNLOGGED.has(url)) {
      res.once('close', () => {
        const completed = res.writableFinished;
        const level = completed ? completionLevel(res.statusCode) : 'warn';
        if (!logger.isLevelEnabled(level)) return;
        const responseTimeMs = Math.round((performance.now() - began) * 10) / 10;
        const detail = logger.isLevelEnabled('trace') ? { req: { headers: req.headers } } : {};
        log()[level]({ statusCode: res.statusCode, responseTimeMs, ...detail }, completed ? 'request completed' : 'request aborted');
      });
    }
    next();
  };
}
