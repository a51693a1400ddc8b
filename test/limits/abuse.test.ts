import { startTestGateway, type TestGateway } from '../support/harness';

describe('limits on what has no account to charge', () => {
  let gateway: TestGateway;

  beforeEach(async () => {
    gateway = await startTestGateway({ AUTH_FAILURES_PER_MINUTE: '5', ANONYMOUS_REQUESTS_PER_MINUTE: '5' });
  });
  afterEach(() => gateway?.stop());

  it('answers key guessing from one address with 429 after the limit, without looking keys up', async () => {
    const { key } = await gateway.newKey();
    const lookups = jest.spyOn(gateway.services.keys, 'verify');
    expect((await gateway.query('{ me { key { id } } }', { key })).status).toBe(200);
    const guess = (i: number) => gateway.query('{ me { key { id } } }', { key: `tg_test_${String(i).padStart(32, 'x')}` });
    for (let i = 0; i < 5; i++) expect((await guess(i)).status).toBe(401);
    expect(lookups).toHaveBeenCalledTimes(6); // the good key and each guess were looked up
    const limited = await guess(5);
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    expect(lookups).toHaveBeenCalledTimes(7); // the sixth guess was looked up, and blocked the address
    expect((await gateway.query('{ me { key { id } } }', { key })).status).toBe(429); // even a good key, from this address
    expect(lookups).toHaveBeenCalledTimes(7); // refused without a lookup
  });

  it('limits anonymous public queries per address, but not keyed ones', async () => {
    const { key } = await gateway.newKey({ plan: 'PROFESSIONAL' });
    for (let i = 0; i < 5; i++) expect((await gateway.query('{ health { status } }')).status).toBe(200);
    const limited = await gateway.query('{ plans { code } }');
    expect(limited.status).toBe(429);
    expect(limited.body.errors?.[0].message).toMatch(/without an API key/);
    expect((await gateway.query('{ health { status } plans { code } }', { key })).status).toBe(200);
  });
});
