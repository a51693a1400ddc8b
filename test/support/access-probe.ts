import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** How a call ended, in the terms of the gateway's access contract. */
export type Outcome = 'ADMITTED' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'GRANT_FORBIDDEN' | 'WRONG_TRANSPORT';
/** An outcome, or a description of an answer the contract has no name for (never expected). */
export type Observed = Outcome | `unexpected: ${string}`;

export type Transport = 'POST' | 'GET' | 'WS';

export interface Call {
  /** The gateway's base URL (http://host:port). */
  url: string;
  key?: string;
  query: string;
  variables: Record<string, unknown>;
}

interface FormattedError {
  message: string;
  path?: unknown[];
  extensions?: Record<string, unknown>;
}

interface Result {
  data?: unknown;
  errors?: readonly FormattedError[];
}

/** A burst or address limit answered instead of the guard: says nothing about access, so the call is made again. */
class RateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limited; retry after ${retryAfterSeconds} s`);
  }
}

const STATUSES: Partial<Record<Outcome, number[]>> = {
  UNAUTHENTICATED: [401],
  FORBIDDEN: [403],
  // Field-level: the rest of the response is still sent, so the request as a whole succeeds.
  GRANT_FORBIDDEN: [200],
  // Apollo answers a mutation over GET with 405, anything else sent where it cannot run with 400.
  WRONG_TRANSPORT: [400, 405],
};

/** The codes by which the guard refuses a call; any other error means the call got past it. */
const REFUSALS = new Map<unknown, Outcome>([
  ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
  ['FORBIDDEN', 'FORBIDDEN'],
  ['BAD_REQUEST', 'WRONG_TRANSPORT'],
]);

function refusalOutcome({ extensions }: FormattedError): Outcome {
  const outcome = REFUSALS.get(extensions?.code)!;
  return outcome === 'FORBIDDEN' && extensions?.requiredGrant ? 'GRANT_FORBIDDEN' : outcome;
}

/**
 * Names the outcome of one GraphQL result by its errors' codes. An error of another code from
 * executing a field (it has a path: BAD_USER_INPUT from a resolver, say) is an admitted call;
 * one without a path refused the request before any field ran, for a reason outside the contract.
 * An internal error is a bug wherever it comes from, never an outcome the table allows.
 */
export function classify(result: Result, httpStatus?: number): Observed {
  const errors = result.errors ?? [];
  const limited = errors.find((error) => error.extensions?.code === 'RATE_LIMITED');
  if (limited) throw new RateLimited(Number(limited.extensions?.retryAfterSeconds ?? 1));
  const refusal = errors.find((error) => REFUSALS.has(error.extensions?.code));
  const stray = errors.find((error) => !error.path || error.extensions?.code === 'INTERNAL_SERVER_ERROR');
  const outcome: Observed = refusal ? refusalOutcome(refusal) : stray ? `unexpected: ${String(stray.extensions?.code)} (${stray.message})` : 'ADMITTED';
  const statuses = STATUSES[outcome as Outcome];
  if (httpStatus !== undefined && statuses && !statuses.includes(httpStatus)) return `unexpected: ${outcome} with HTTP ${httpStatus}`;
  return outcome;
}

export async function overHttp(method: 'POST' | 'GET', { url, key, query, variables }: Call): Promise<Observed> {
  const headers: Record<string, string> = { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const signal = AbortSignal.timeout(15_000);
  const response =
    method === 'POST'
      ? await fetch(`${url}/graphql`, {
          method,
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ query, variables }),
          signal,
        })
      : // Apollo's CSRF prevention refuses a GET without a header a plain browser form cannot send.
        await fetch(`${url}/graphql?${new URLSearchParams({ query, variables: JSON.stringify(variables) })}`, {
          headers: { ...headers, 'apollo-require-preflight': 'true' },
          signal,
        });
  const body = (await response.json().catch(() => undefined)) as Result | undefined;
  if (!body) return `unexpected: HTTP ${response.status} without a JSON body`;
  return classify(body, response.status);
}

function closeOutcome(reason: unknown): Observed {
  if (typeof reason === 'object' && reason !== null && 'code' in reason) {
    const { code, reason: text } = reason as { code: number; reason?: string };
    // graphql-ws closes with 4403 Forbidden when onConnect refuses the connection's credentials.
    return code === 4403 ? 'UNAUTHENTICATED' : (`unexpected: socket closed ${code} ${text ?? ''}`.trimEnd() as Observed);
  }
  return `unexpected: ${String(reason)}`;
}

/**
 * Sends one operation over graphql-ws on a connection of its own and names how the first answer
 * ended it: a result, an `error` message or the socket closing. A subscription answers only
 * when something happens, so `nudge` is called every 200 ms until it does.
 */
export function overWebSocket({ url, key, query, variables }: Call, nudge?: () => Promise<unknown>, timeoutMs = 10_000): Promise<Observed> {
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
  });
  return new Promise<Observed>((resolve, reject) => {
    let settled = false;
    const settle = (observe: () => Observed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(nudging);
      void client.dispose();
      try {
        resolve(observe());
      } catch (error) {
        reject(error);
      }
    };
    const timer = setTimeout(() => settle(() => `unexpected: no answer within ${timeoutMs} ms`), timeoutMs);
    const nudging = nudge ? setInterval(() => void nudge().catch(() => undefined), 200) : undefined;
    client.subscribe(
      { query, variables },
      {
        next: (result) => settle(() => classify(result as Result)),
        error: (error) => settle(() => (Array.isArray(error) ? classify({ errors: error }) : closeOutcome(error))),
        complete: () => settle(() => 'unexpected: completed without a result'),
      },
    );
  });
}

/**
 * Makes the call again while a rate limit answers instead of the guard. A call that fails
 * outright (a network error) is reported as its outcome, so it names its own cell of the table.
 */
export async function observe(call: () => Promise<Observed>, attempts = 5): Promise<Observed> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof RateLimited)) return `unexpected: ${String(error)}`;
      if (attempt === attempts) return `unexpected: still RATE_LIMITED after ${attempts} attempts`;
      await new Promise((wake) => setTimeout(wake, error.retryAfterSeconds * 1000));
    }
  }
}

/** Runs `task` over `items`, at most `limit` at a time; results in the order of `items`. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
