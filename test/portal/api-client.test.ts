import { ApiError, graphqlRequest, websocketUrl, type CostExtension } from '../../web/src/api';
import { formatRelative, formatReset } from '../../web/src/format';

/** The portal's GraphQL client: what it makes of the gateway's answers (no browser needed). */
describe('portal API client', () => {
  const realFetch = global.fetch;
  afterEach(() => {
    global.fetch = realFetch;
  });

  function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
    const calls: { url: string; init: RequestInit }[] = [];
    global.fetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
    }) as typeof fetch;
    return calls;
  }

  it('sends the key as a bearer token to /graphql only, and reports extensions.cost', async () => {
    const cost: CostExtension = { requestedQueryCost: 1, actualQueryCost: 1, quota: { limit: 1000, remaining: 999, resetAt: '2026-11-26T00:00:00.000Z' } };
    const calls = answer(200, { data: { me: { key: { role: 'SUBSCRIBER' } } }, extensions: { cost } });
    const seen: CostExtension[] = [];
    await expect(graphqlRequest('tg_test_abc', '{ me { key { role } } }', {}, { onCost: (c) => seen.push(c) })).resolves.toEqual({
      me: { key: { role: 'SUBSCRIBER' } },
    });
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('/graphql');
    expect(calls[0].init.headers).toMatchObject({ authorization: 'Bearer tg_test_abc', 'content-type': 'application/json' });
    expect(seen).toEqual([cost]);
  });

  it('sends no authorization header without a key', async () => {
    const calls = answer(200, { data: { plans: [] } });
    await graphqlRequest(null, '{ plans { code } }');
    expect(calls[0].init.headers).not.toHaveProperty('authorization');
  });

  it.each([
    [401, { code: 'UNAUTHENTICATED' }, {}, { status: 401, code: 'UNAUTHENTICATED' }],
    [403, { code: 'FORBIDDEN' }, {}, { status: 403, code: 'FORBIDDEN' }],
    [
      429,
      { code: 'QUOTA_EXCEEDED', resetAt: '2026-11-26T00:00:00.000Z', upgradeTo: 'PROFESSIONAL' },
      { 'retry-after': '3600' },
      { status: 429, code: 'QUOTA_EXCEEDED', resetAt: '2026-11-26T00:00:00.000Z', upgradeTo: 'PROFESSIONAL' },
    ],
    [429, { code: 'RATE_LIMITED', retryAfterSeconds: 2 }, { 'retry-after': '2' }, { status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 2 }],
    [503, { code: 'SERVICE_UNAVAILABLE' }, {}, { status: 503, code: 'SERVICE_UNAVAILABLE' }],
  ])('turns HTTP %i into an ApiError carrying the code and when to retry', async (status, extensions, headers, expected) => {
    answer(status, { errors: [{ message: 'refused', extensions }] }, headers);
    const errors: ApiError[] = [];
    const error = await graphqlRequest('tg_test_abc', '{ topRisks { customerId } }', {}, { onError: (e) => errors.push(e) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ message: 'refused', ...expected });
    expect(errors).toEqual([error]);
  });

  it('knows when a 429 may be retried', () => {
    const receivedAt = Date.parse('2026-11-25T12:00:00Z');
    expect(new ApiError({ status: 429, code: 'RATE_LIMITED', message: '', retryAfterSeconds: 3 }).retryAt(receivedAt)?.toISOString()).toBe(
      '2026-11-25T12:00:03.000Z',
    );
    expect(new ApiError({ status: 429, code: 'QUOTA_EXCEEDED', message: '', resetAt: '2026-11-26T00:00:00.000Z' }).retryAt(receivedAt)?.toISOString()).toBe(
      '2026-11-26T00:00:00.000Z',
    );
    expect(new ApiError({ status: 403, code: 'FORBIDDEN', message: '' }).retryAt()).toBeUndefined();
  });

  it('keeps the data of a response with field-level errors (a field the plan lacks)', async () => {
    answer(200, {
      data: { riskScore: { band: 'LOW', score: null } },
      errors: [{ message: 'not in your plan', path: ['riskScore', 'score'], extensions: { code: 'FORBIDDEN' } }],
    });
    await expect(graphqlRequest('tg_test_abc', '{ riskScore(customerId: "c-1") { band score } }')).resolves.toEqual({
      riskScore: { band: 'LOW', score: null },
    });
  });

  it('says so when the gateway cannot be reached or answers something that is not GraphQL', async () => {
    global.fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await expect(graphqlRequest(null, '{ health { status } }')).rejects.toMatchObject({ code: 'NETWORK', status: 0 });
    global.fetch = (async () => new Response('<html>bad gateway</html>', { status: 502 })) as typeof fetch;
    await expect(graphqlRequest(null, '{ health { status } }')).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 502 });
  });

  it('builds the WebSocket URL from the page', () => {
    expect(websocketUrl({ protocol: 'http:', host: '127.0.0.1:4000' })).toBe('ws://127.0.0.1:4000/graphql');
    expect(websocketUrl({ protocol: 'https:', host: 'api.example.com' })).toBe('wss://api.example.com/graphql');
  });

  it('writes reset times in UTC with how long is left', () => {
    const now = Date.now();
    expect(formatRelative(new Date(now + 5 * 3600_000 + 3 * 60_000 + 10_000), now)).toBe('in 5 h 3 min');
    expect(formatRelative(new Date(now - 90_000), now)).toBe('2 min ago');
    // Rounded as a whole: never "12 h 60 min".
    expect(formatRelative(new Date(now + 12 * 3600_000 + 59 * 60_000 + 40_000), now)).toBe('in 13 h');
    expect(formatRelative(new Date(now + 3 * 3600_000 + 29 * 60_000 + 50_000), now)).toBe('in 3 h 30 min');
    expect(formatReset(new Date('2026-11-26T00:00:00Z'))).toMatch(/^2026-11-26 00:00 UTC \((in|.* ago)/);
  });
});
