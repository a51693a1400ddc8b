import { createClient, type Client } from 'graphql-ws';
import { connect as openSocket } from 'node:net';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { REFUSAL_LOG_INTERVAL_MS } from '../../src/ops/request-log';
import { encodeViews, SCORES_CHANNEL, type RiskScoreView } from '../../src/risk/view';
import { startTestGateway, type TestGateway } from '../support/harness';
import { cpuSeconds, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';

const SYSTEM = { type: 'system:test' } as const;

/** A fragment chain where each level spreads the next twice: 2^levels fields once expanded. */
const fragmentBomb = (levels: number) =>
  `query { ...F1 } ${Array.from({ length: levels }, (_, i) => (i + 1 < levels ? `fragment F${i + 1} on Query { ...F${i + 2} ...F${i + 2} }` : `fragment F${i + 1} on Query { health { status } }`)).join('\n')}`;
const aliasDocument = (bytes: number) => {
  const parts: string[] = [];
  for (let i = 0, length = 2; length < bytes; i++) {
    const part = `a${i}: health { status }`;
    parts.push(part);
    length += part.length + 1;
  }
  return `{ ${parts.join(' ')} }`;
};
/** Introspection where each level selects the next fragment under two aliases: 2^levels paths for an analysis that expands fragments. */
const introspectionBomb = (levels: number) =>
  `{ __type(name: "Query") { ...F1 } } ${Array.from({ length: levels }, (_, i) => (i + 1 < levels ? `fragment F${i + 1} on __Type { a: ofType { ...F${i + 2} } b: ofType { ...F${i + 2} } }` : `fragment F${i + 1} on __Type { name }`)).join('\n')}`;
const introspectionAliases = `{ __schema { ${Array.from({ length: 20 }, (_, i) => `t${i}: types { ${Array.from({ length: 20 }, (_, j) => `f${j}: name`).join(' ')} }`).join(' ')} } }`;

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text,
    json: () => JSON.parse(text) as { data?: any; errors?: any[]; extensions?: any },
  };
}
/** A graphql-ws connection with `secret`: 0 when acknowledged, else the refusal's HTTP status or close code. */
const connectWith = (url: string, secret: string, headers: Record<string, string> = {}) =>
  new Promise<number>((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers });
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } })));
    socket.on('message', () => {
      socket.close();
      resolve(0);
    });
    socket.on('close', (code) => resolve(code));
  });
const codeOf = (body: { errors?: Array<{ extensions?: { code?: string } }> }) => body.errors?.[0]?.extensions?.code;

describe('cheap refusals before expensive work (a gateway process, real Postgres and Redis)', () => {
  let setup: TestGateway;
  let server: RunningProcess;
  beforeAll(async () => {
    setup = await startTestGateway();
    server = await startGatewayProcess({ ...setup.env, ANONYMOUS_REQUESTS_PER_MINUTE: '100000', NODE_ENV: 'development', LOG_LEVEL: 'info' });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await setup?.stop();
  });

  /**
   * Sends `attack` (`requests` documents) while /healthz is polled: health must answer throughout,
   * and the server's own CPU for the whole attack stays far below what expanding a bomb costs.
   * CPU, not /healthz's wall time: that counted the stalls of this test's own process (it builds
   * and sends megabytes) and of a machine shared with CI's services (988 ms once, a clean run).
   * Before the shape check one bomb held the server 1.5 s; a refusal costs 0.1-3 ms of CPU
   * (BENCHMARKS.md, section 6).
   */
  async function whileHealthy<T>(requests: number, attack: () => Promise<T>): Promise<T> {
    let attacking = true;
    const statuses = new Set<number>();
    const probe = (async () => {
      while (attacking) {
        statuses.add((await fetch(`${server.url}/healthz`)).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const before = cpuSeconds(server.child.pid!);
    const result = await attack();
    const used = cpuSeconds(server.child.pid!) - before;
    attacking = false;
    await probe;
    expect([...statuses]).toEqual([200]);
    expect(used / requests).toBeLessThan(0.1);
    return result;
  }

  it.each([
    ['a 23-level fragment bomb', fragmentBomb(23), 400, 'QUERY_TOO_COMPLEX'],
    ['a 40-level fragment bomb', fragmentBomb(40), 400, 'QUERY_TOO_COMPLEX'],
    ['a 40-level introspection fragment chain', introspectionBomb(40), 400, 'QUERY_TOO_COMPLEX'],
    ['20 x 20 aliases inside introspection', introspectionAliases, 400, 'QUERY_TOO_COMPLEX'],
    [
      'introspection nested past the depth limit',
      `{ __schema { types { ${'fields { type { '.repeat(8)}name${' } }'.repeat(8)} } } }`,
      400,
      'QUERY_TOO_COMPLEX',
    ],
    ['10,000 duplicated fields', `{ ${'health { status } '.repeat(10_000)} }`, 400, 'GRAPHQL_PARSE_FAILED'],
    ['one field 21 times', `{ ${'health { status } '.repeat(21)} }`, 400, 'QUERY_TOO_COMPLEX'],
    ['a 200 KB alias document (past the token limit)', aliasDocument(200_000), 400, 'GRAPHQL_PARSE_FAILED'],
    ['a 1 MB alias document (past the body limit)', aliasDocument(1_000_000), 413, 'PAYLOAD_TOO_LARGE'],
  ])('refuses %s without a key, in JSON, and stays responsive', async (_name, query, status, code) => {
    // The GraphQL-over-HTTP media type that keeps 4xx for request errors (application/json answers them with 200).
    const accept = { accept: 'application/graphql-response+json' };
    const answers = await whileHealthy(8, () => Promise.all(Array.from({ length: 8 }, () => post(server.url, JSON.stringify({ query }), accept))));
    for (const answer of answers) {
      expect(answer.status).toBe(status);
      expect(answer.type).toMatch(/application\/json/);
      expect(codeOf(answer.json())).toBe(code);
    }
  });

  it.each([
    ['a 40-level fragment bomb', fragmentBomb(40)],
    ['a 40-level introspection fragment chain', introspectionBomb(40)],
    ['20 x 20 aliases inside introspection', introspectionAliases],
  ])('refuses %s sent by GET, behind 1,000 other parameters too, and stays responsive', async (_name, query) => {
    const get = async (search: string) => {
      const response = await fetch(`${server.url}/graphql?${search}`, {
        headers: { accept: 'application/graphql-response+json', 'apollo-require-preflight': '1' },
      });
      return { status: response.status, body: (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> } };
    };
    const param = `query=${encodeURIComponent(query)}`;
    // Express's query parser reads 1,000 parameters and no more; Apollo reads them all.
    const searches = [param, `${'&'.repeat(1_000)}${param}`, `${'a=1&'.repeat(1_000)}${param}`];
    const answers = await whileHealthy(searches.length, () => Promise.all(searches.map(get)));
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(codeOf(answer.body)).toBe('QUERY_TOO_COMPLEX');
    }
    const twice = await get(`query=${encodeURIComponent('{ health { status } }')}&${param}`);
    expect(twice.status).toBe(400);
    expect(twice.body.errors?.length).toBe(1);
  });

  it('refuses a key in the URL with 400 saying where keys go, and never writes it to the log', async () => {
    const { key } = await setup.newKey({ plan: 'PROFESSIONAL' });
    const redacted = () => (server.output().match(/\[REDACTED\]/g) ?? []).length;
    for (const url of [`${server.url}/graphql?api_key=${key}&query={health{status}}`, `${server.url}/graphql?token=${key}`, `${server.url}/graphql?q=${key}`]) {
      // Refusals of one status are logged in full once a second (the others counted), and the tests
      // before this one refused with 400 too: each URL a full interval after any other 400, so its line is written.
      await new Promise((resolve) => setTimeout(resolve, REFUSAL_LOG_INTERVAL_MS + 100));
      const before = redacted();
      const response = await fetch(url, { headers: { accept: 'application/json' } });
      await waitFor('the refusal to be logged', async () => redacted() > before, REFUSAL_LOG_INTERVAL_MS + 5_000, 50);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(body.errors[0].message).toMatch(/Authorization: Bearer/);
    }
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql?api_key=${key}`, 'graphql-transport-ws');
    const refused = await new Promise<number>((resolve) =>
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('open', () => resolve(101)),
    );
    expect(refused).toBe(400);
    expect(redacted()).toBeGreaterThanOrEqual(3);
    expect(server.output()).not.toContain(key);
  });

  it('answers malformed JSON, a wrong content type and an unknown route with GraphQL-shaped JSON, never HTML or a stack', async () => {
    const malformed = await post(server.url, '{"query": "{ health { status } }"');
    expect(malformed.status).toBe(400);
    expect(malformed.type).toMatch(/application\/json/);
    expect(codeOf(malformed.json())).toBe('BAD_REQUEST');
    for (const answer of [malformed, await post(server.url, 'query=x', { 'content-type': 'text/plain' }), await post(server.url, '{"query": 1}')]) {
      expect(answer.text).not.toMatch(/<html|<pre|at .*\(\/|node_modules/i);
      expect(answer.json().errors?.length).toBeGreaterThan(0);
    }
    const missing = await fetch(`${server.url}/no-such-route`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(codeOf((await missing.json()) as never)).toBe('NOT_FOUND');
  });

  it('refuses a subscription sent over HTTP with 400, whoever sends it', async () => {
    const { key } = await setup.newKey({ plan: 'PROFESSIONAL' });
    const answer = await post(server.url, JSON.stringify({ query: 'subscription { riskScoreUpdated { score } }' }), { authorization: `Bearer ${key}` });
    expect(answer.status).toBe(400);
    expect(codeOf(answer.json())).toBe('BAD_REQUEST');
    expect(answer.json().errors?.[0].message).toMatch(/WebSocket/);
  });
});

describe('charges match what was executed or delivered', () => {
  let gateway: TestGateway;
  const clients: Client[] = [];
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gateway?.stop();
  });
  const ledger = (accountId: string) => gateway.services.db.prisma.usageRecord.findMany({ where: { accountId }, orderBy: { requestId: 'asc' } });
  const connect = (key: string) => {
    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  it('charges a field named 20 times once, as GraphQL executes it once', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const answer = await gateway.query(`query Twenty($a: ID!) { ${'account(id: $a) { id } '.repeat(20)} }`, { key, variables: { a: accountId } });
    expect(answer.status).toBe(200);
    expect((answer.body as { extensions?: { cost?: unknown } }).extensions?.cost).toMatchObject({ requestedQueryCost: 1, actualQueryCost: 1 });
    expect((await ledger(accountId)).map((record) => record.costUnits)).toEqual([1]);
  });

  it('refuses queries and mutations over graphql-ws with BAD_REQUEST: nothing runs, nothing is charged', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'FREE' });
    const client = connect(key);
    const run = (query: string) =>
      new Promise<Array<{ extensions?: { code?: string } }>>((resolve) => {
        const errors: Array<{ extensions?: { code?: string } }> = [];
        client.subscribe(
          { query },
          {
            next: (result) => errors.push(...((result.errors ?? []) as never[])),
            error: (error) => resolve([...errors, ...(Array.isArray(error) ? error : [error])]),
            complete: () => resolve(errors),
          },
        );
      });
    for (const query of [
      `mutation { setAccountPlan(accountId: "${accountId}", planCode: ENTERPRISE) { id } }`,
      `{ ${Array.from({ length: 20 }, (_, i) => `t${i}: topRisks(first: 100) { score }`).join(' ')} }`,
      '{ accounts { nodes { email } } }',
      // two operations and no operationName: which one to run is not known
      'subscription A { riskScoreUpdated { score } } subscription B { riskScoreUpdated { score } }',
    ]) {
      expect((await run(query)).map((error) => [error.extensions?.code, 'http' in (error.extensions ?? {})])).toEqual([['BAD_REQUEST', false]]);
    }
    expect((await gateway.services.accounts.access(accountId))?.plan.code).toBe('FREE');
    expect(await ledger(accountId)).toHaveLength(0);
    const rate = await gateway.query('{ rateLimit { used } }', { key });
    expect(rate.body.data.rateLimit.used).toBe(0);
  });

  it('charges a live feed for the events it delivered, and nothing for the one pending when it ends', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const customerId = `c-${randomUUID().slice(0, 8)}`;
    const feed = (feedKey: string, into: number[]) =>
      connect(feedKey).subscribe(
        { query: 'subscription Feed($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { score } }', variables: { ids: [customerId] } },
        {
          next: (result) => into.push((result.data as { riskScoreUpdated: { score: number } }).riskScoreUpdated.score),
          error: () => undefined,
          complete: () => undefined,
        },
      );
    const received: number[] = [];
    const before = gateway.services.risk.subscribers;
    const unsubscribe = feed(key, received);
    await waitFor('the feed to listen', async () => gateway.services.risk.subscribers > before, 10_000, 20);
    const view = (score: number): RiskScoreView => ({
      customerId,
      eventId: randomUUID(),
      score,
      band: 'LOW',
      factors: [],
      eventTime: new Date().toISOString(),
      computedAt: new Date().toISOString(),
      modelVersion: 'test',
    });
    const publish = (...scores: number[]) => gateway.services.pubsub.publish(SCORES_CHANNEL, encodeViews(scores.map(view)));
    await publish(1, 2);
    await waitFor('two events', async () => received.length === 2, 10_000, 20);
    unsubscribe();
    await waitFor('the feed to end on the server', async () => gateway.services.risk.subscribers === before, 10_000, 20);
    // A witness feed of another account on the same customer: once it has 3 and 4, the ended feed
    // would have had them too, had it still been listening.
    const witness: number[] = [];
    const endWitness = feed((await gateway.newKey({ plan: 'PROFESSIONAL' })).key, witness);
    await waitFor('the witness to listen', async () => gateway.services.risk.subscribers > before, 10_000, 20);
    await publish(3, 4);
    await waitFor('the witness to get 3 and 4', async () => witness.length === 2, 10_000, 20);
    endWitness();
    expect(witness).toEqual([3, 4]);
    expect(received).toEqual([1, 2]);
    expect((await ledger(accountId)).map((record) => [record.operation, record.costUnits])).toEqual([
      ['Feed', 1],
      ['Feed', 1],
    ]);
  });

  it('names a plan above the account’s own when the quota is spent, even under an override', async () => {
    const { key, accountId } = await gateway.newKey({ plan: 'FREE' });
    await gateway.services.accounts.setOverrides(accountId, { dailyQuota: 1 }, SYSTEM);
    const own = () => gateway.query('query($a: ID!) { account(id: $a) { id } }', { key, variables: { a: accountId } });
    expect((await own()).status).toBe(200);
    const refused = await own();
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0].extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', upgradeTo: 'PROFESSIONAL' });
  });

  it('counts WebSocket upgrades against the address before any key is read, as HTTP requests before their body', async () => {
    const limited = await startTestGateway({ ANONYMOUS_REQUESTS_PER_MINUTE: '3' });
    try {
      const upgrade = () =>
        new Promise<number>((resolve) => {
          const socket = new WebSocket(`${limited.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
          socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          socket.once('open', () => {
            socket.close();
            resolve(101);
          });
        });
      expect([await upgrade(), await upgrade(), await upgrade()]).toEqual([101, 101, 101]);
      expect(await upgrade()).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('counts failed WebSocket authentications against the address, as over HTTP', async () => {
    const limited = await startTestGateway({ AUTH_FAILURES_PER_MINUTE: '3' });
    try {
      const { key } = await limited.newKey({ plan: 'PROFESSIONAL' });
      const tryConnect = (secret: string) => connectWith(limited.url, secret);
      for (let i = 0; i < 4; i++) expect(await tryConnect(`tg_test_${String(i).padStart(32, 'x')}`)).toBe(4403);
      expect(await tryConnect(key)).toBe(429); // the address is blocked now, good key or not: refused before the upgrade
      expect((await limited.query('{ me { key { id } } }', { key })).status).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('behind a proxy on this host, blocks the forwarded client that failed, on both transports, and not the proxy', async () => {
    const limited = await startTestGateway({ AUTH_FAILURES_PER_MINUTE: '3' });
    try {
      const { key } = await limited.newKey({ plan: 'PROFESSIONAL' });
      const guessing = { 'x-forwarded-for': '203.0.113.7' };
      const honest = { 'x-forwarded-for': '198.51.100.9' };
      const tryConnect = (secret: string, headers: Record<string, string>) => connectWith(limited.url, secret, headers);
      for (let i = 0; i < 4; i++) expect(await tryConnect(`tg_test_${String(i).padStart(32, 'y')}`, guessing)).toBe(4403);
      expect(await tryConnect(key, guessing)).toBe(429);
      expect((await limited.query('{ me { key { id } } }', { key, headers: guessing })).status).toBe(429);
      // Everyone else behind the same proxy is still served.
      expect(await tryConnect(key, honest)).toBe(0);
      expect((await limited.query('{ me { key { id } } }', { key, headers: honest })).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('closes a connection that trickles its request past HTTP_REQUEST_TIMEOUT_MS with 408, and serves others meanwhile', async () => {
    const gateway = await startTestGateway({ HTTP_REQUEST_TIMEOUT_MS: '1000' });
    try {
      const { port } = new URL(gateway.url);
      const began = performance.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = openSocket(Number(port), '127.0.0.1', () => {
          socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"query":');
        });
        // A byte every 200 ms: never idle long enough for an idle timeout, never done.
        const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk;
          clearInterval(trickle);
        });
        socket.on('close', () => {
          clearInterval(trickle);
          resolve(received);
        });
        // A byte the trickle sent as the server closed is answered with a reset: after the answer
        // arrived, that is the close, not a failure.
        socket.on('error', (error) => (received ? resolve(received) : reject(error)));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(performance.now() - began).toBeLessThan(10_000); // Node's default would hold it 5 minutes
      expect((await gateway.query('{ health { status } }')).status).toBe(200);
    } finally {
      await gateway.stop();
    }
  });
});
