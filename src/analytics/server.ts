import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Logger } from '../ops/logger';
import type { AnalyticsEngine } from './engine';
import { ANALYTICS_QUERIES, askArchive, clickhouseTime } from './queries';
import { ANALYTICS_PATH, checkAnalyticsRequest, type AnalyticsAnswer, type AnalyticsRequest } from './request';
import type { archiveTable } from './sources';

const MAX_BODY_BYTES = 16_384;

/** Runs a checked request on the engine: one row past the limit says whether the answer was cut. */
export async function answer(engine: AnalyticsEngine, settings: Parameters<typeof archiveTable>[0], request: AnalyticsRequest): Promise<AnalyticsAnswer> {
  const sql = ANALYTICS_QUERIES[request.question].sql(settings, { groupBy: request.groupBy, limited: true });
  const rows = await askArchive<Record<string, unknown>>(engine, sql, {
    from: clickhouseTime(request.from),
    to: clickhouseTime(request.to),
    limit: request.limit + 1,
  });
  return { rows: rows.slice(0, request.limit), truncated: rows.length > request.limit };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/**
 * The analytics worker's internal HTTP API (the gateway's ANALYTICS_URL): the engine, and the
 * 540 MB it loads, live in this process only. Queries run one at a time: each one already uses
 * every core the engine is given, and a queue keeps memory bounded. A bad request is 400 with
 * the same message the gateway would give; anything else 500 (logged here, not sent).
 */
export function startAnalyticsServer(options: {
  engine: AnalyticsEngine;
  settings: Parameters<typeof archiveTable>[0];
  maxRangeDays: number;
  host: string;
  port: number;
  logger: Logger;
}): Promise<Server> {
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== ANALYTICS_PATH) return json(res, 404, { error: `POST ${ANALYTICS_PATH} only` });
    void (async () => {
      let request: AnalyticsRequest;
      try {
        request = checkAnalyticsRequest(JSON.parse(await readBody(req)) as Record<string, unknown>, options.maxRangeDays);
      } catch (error) {
        const fields = error instanceof GraphQLError ? error.extensions.fields : undefined;
        return json(res, 400, { error: error instanceof GraphQLError ? error.message : 'the body must be a JSON object', fields });
      }
      try {
        json(res, 200, await inTurn(() => answer(options.engine, options.settings, request)));
      } catch (error) {
        options.logger.error({ err: error, question: request.question }, 'analytics query failed');
        json(res, 500, { error: 'the analytics query failed' });
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
