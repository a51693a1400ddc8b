import { dirname, join } from 'node:path';
import url from 'node:url';
import { searchOf } from '../../src/gateway/apollo-middleware';
import { startTestGateway, type TestGateway } from '../support/harness';

let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  ({ key } = await gateway.newKey({ plan: 'PROFESSIONAL' }));
});
afterAll(async () => {
  await gateway?.stop();
});

/**
 * GraphQL over HTTP: request errors (a document that does not parse, validate or take its
 * variables) answer 200 for `application/json` (what clients of that media type expect) and keep
 * their 4xx for `application/graphql-response+json`; a field's own error keeps its status.
 */
describe('status codes by response media type', () => {
  const ask = async (body: unknown, accept?: string) => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(accept ? { accept } : {}) },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { data?: unknown; errors?: Array<{ extensions: { code: string } }> };
    return { status: response.status, type: response.headers.get('content-type'), code: json.errors?.[0]?.extensions.code, data: json.data };
  };

  const requestErrors: Array<[string, unknown, string]> = [
    ['a document that does not parse', { query: '{ health { status ' }, 'GRAPHQL_PARSE_FAILED'],
    ['a document that does not validate', { query: '{ nope }' }, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'variables of the wrong type',
      { query: 'query($id: ID!) { riskScore(customerId: $id) { score } }', variables: { id: { not: 'an id' } } },
      'BAD_USER_INPUT',
    ],
  ];

  it.each(requestErrors)('answers %s with 200 for application/json (or no Accept) and 400 for application/graphql-response+json', async (_name, body, code) => {
    for (const accept of [undefined, 'application/json', '*/*']) expect({ accept, ...(await ask(body, accept)) }).toMatchObject({ accept, status: 200, code });
    for (const accept of ['application/graphql-response+json', 'application/graphql-response+json, application/json;q=0.9']) {
      expect({ accept, ...(await ask(body, accept)) }).toMatchObject({ accept, status: 400, code });
    }
  });

  it('keeps the status of errors that are not request errors, whatever the media type', async () => {
    // A resolver's refusal of bad input (it has a path): 400 both ways.
    for (const accept of [undefined, 'application/graphql-response+json']) {
      const bad = await ask({ query: '{ riskHistory(customerId: "c-42", after: "nonsense") { nodes { eventId } } }' }, accept);
      expect({ accept, status: bad.status, code: bad.code }).toEqual({ accept, status: 400, code: 'BAD_USER_INPUT' });
    }
    // No key where one is needed: 401 both ways.
    const anonymous = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { key { id } } }' }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('sends no ETag: hashing every answer bought nothing (a POST is not revalidated, and every execution is billed)', async () => {
    const answers = [
      await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ health { status } }' }),
      }),
      await fetch(`${gateway.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`, {
        headers: { authorization: `Bearer ${key}`, 'apollo-require-preflight': 'true' },
      }),
      await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ me { key { id } } }"}' }),
    ];
    expect(answers.map((answer) => [answer.status, answer.headers.get('etag')])).toEqual([
      [200, null],
      [200, null],
      [401, null],
    ]);
  });

  it('answers in compact JSON, not indented', async () => {
    const answer = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: '{ health { status } }' }),
    });
    const text = await answer.text();
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(text).toMatch(/^\{"data":\{"health":\{"status":"ok"\}\}/);
  });

  it('reads the query string without url.parse (on Node 24 each call from a package captured a stack for its deprecation check)', async () => {
    const parse = jest.spyOn(url, 'parse');
    try {
      const post = await ask({ query: '{ health { status } }' });
      const get = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent('{ health { status } }')}`, {
        headers: { authorization: `Bearer ${key}`, 'apollo-require-preflight': 'true' },
      });
      expect([post.status, post.type, post.data]).toEqual([200, 'application/json; charset=utf-8', { health: { status: 'ok' } }]);
      const answer = (await get.json()) as { data: unknown };
      expect([get.status, Number(get.headers.get('content-length')), answer.data]).toEqual([200, expect.any(Number), { health: { status: 'ok' } }]);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });
});

describe('the answers of the GraphQL path', () => {
  it('are never cacheable (cache-control: no-store), and Apollo wraps no field resolver to work that out', async () => {
    // Apollo's cache-control plugin, on by default, turned on its hooks around every field resolver.
    const instrumentation = require(join(dirname(require.resolve('@apollo/server')), 'utils', 'schemaInstrumentation.js'));
    const wrap = jest.spyOn(instrumentation, 'enablePluginsForSchemaResolvers');
    try {
      const ask = (headers: Record<string, string>, query: string) =>
        fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
      const answers = [
        await ask({ authorization: `Bearer ${key}` }, '{ health { status } }'),
        await ask({ authorization: `Bearer ${key}` }, '{ nope }'),
        await ask({}, '{ health { status } }'),
      ];
      expect(answers.map((answer) => [answer.status, answer.headers.get('cache-control')])).toEqual([
        [200, 'no-store'],
        [200, 'no-store'],
        [200, 'no-store'],
      ]);
      expect(wrap).not.toHaveBeenCalled();
    } finally {
      wrap.mockRestore();
    }
  });
});

describe('searchOf', () => {
  it.each(['/', '/graphql', '/graphql?', '/graphql?query=%7B%20a%20%7D', '/?a=1&b=2', '/graphql?query=x#frag', '/graphql#frag?x', '/?#', '/a?b?c'])(
    'reads %s as url.parse does',
    (target) => {
      expect(searchOf(target)).toBe(url.parse(target).search ?? '');
    },
  );
});
