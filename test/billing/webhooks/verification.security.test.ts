import { request } from 'node:http';
import { startTestGateway, type TestGateway } from '../../support/harness';
import { deliver, seconds, signatureFor, stripeEvent, WEBHOOK_SECRET, type Delivery, type StripeEventPayload } from '../../support/stripe-events';
import { newAccount, planOf, setUpPrices, subscriptionOf } from './helpers';

/** Anything that does not verify is refused with a 4xx and leaves no trace: no event row, no plan change. */
describe('POST /webhooks/stripe refuses what does not verify', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_WEBHOOK_MAX_BYTES: '65536' });
    await setUpPrices(gateway);
  });
  afterAll(() => gateway?.stop());

  const prisma = () => gateway.services.db.prisma;
  /** Each test its own FREE account and an upgrade of it: no test sees another's effects, whatever the order. */
  const upgrade = async () => {
    const accountId = await newAccount(gateway, 'FREE');
    return { accountId, event: subscriptionOf(accountId).event('created', new Date()) };
  };

  async function expectNoEffect(accountId: string, event: StripeEventPayload) {
    expect(await prisma().stripeEvent.count({ where: { id: event.id } })).toBe(0);
    expect(await prisma().subscription.count({ where: { accountId } })).toBe(0);
    expect(await planOf(gateway, accountId)).toBe('FREE');
  }

  const now = () => seconds(Date.now());
  const cases: Array<[string, (event: StripeEventPayload) => Promise<Delivery>]> = [
    ['a bad signature', (event) => deliver(gateway.url, event, { signature: `t=${now()},v1=${'0'.repeat(64)}` })],
    ['a signature made with another secret', (event) => deliver(gateway.url, event, { secret: 'whsec_someone_else_entirely' })],
    ['a stale timestamp (older than the 300 s tolerance)', (event) => deliver(gateway.url, event, { timestamp: now() - 301 })],
    ['no Stripe-Signature header', (event) => deliver(gateway.url, event, { signature: null })],
    ['a malformed Stripe-Signature header', (event) => deliver(gateway.url, event, { signature: 'not a signature' })],
    [
      'a body changed after it was signed',
      (event) => {
        const signed = JSON.stringify(event);
        return deliver(gateway.url, signed.replace('"active"', '"trialing"'), { signature: signatureFor(signed) });
      },
    ],
    ['a body that is not sent as JSON', (event) => deliver(gateway.url, event, { contentType: 'text/plain' })],
  ];

  it.each(cases)('answers 400 to %s, with no effect', async (_what, send) => {
    const { accountId, event } = await upgrade();
    const { status, body } = await send(event);
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ message: expect.any(String), extensions: { code: 'BAD_REQUEST' } }]);
    await expectNoEffect(accountId, event);
  });

  it('answers a request with no Stripe-Signature header before reading its body (a body that never comes)', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const held = request(`${gateway.url}/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '65000' },
      });
      held.on('response', (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          held.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      held.on('error', reject);
      held.flushHeaders(); // the headers only: not a byte of the 65,000 announced
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).errors[0]).toEqual({ message: 'missing Stripe-Signature header', extensions: { code: 'BAD_REQUEST' } });
  });

  it('answers 413 to a body over STRIPE_WEBHOOK_MAX_BYTES, even signed correctly, with no effect', async () => {
    const { accountId, event } = await upgrade();
    event.data.object.metadata = { ...(event.data.object.metadata as object), padding: 'x'.repeat(70_000) };
    const { status, body } = await deliver(gateway.url, event);
    expect(status).toBe(413);
    expect(body.errors).toEqual([{ message: expect.stringMatching(/larger than 65536 bytes/), extensions: { code: 'PAYLOAD_TOO_LARGE' } }]);
    await expectNoEffect(accountId, event);
  });

  it('answers 400 to a correctly signed body that is not a Stripe event', async () => {
    const { status, body } = await deliver(gateway.url, JSON.stringify({ hello: 'world' }));
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ message: expect.stringMatching(/not a Stripe event/), extensions: { code: 'BAD_REQUEST' } }]);
  });

  it('applies the same event once it is signed with the endpoint secret (the control)', async () => {
    const { accountId, event } = await upgrade();
    expect(await planOf(gateway, accountId)).toBe('FREE');
    expect(await deliver(gateway.url, event)).toEqual({ status: 200, body: { received: true, status: 'processed' } });
    expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
  });

  it('answers 503 with a clear message when STRIPE_WEBHOOK_SECRET is not set (Stripe keeps the event and retries)', async () => {
    const unconfigured = await startTestGateway();
    try {
      const event = stripeEvent('customer.created', { id: 'cus_x', object: 'customer' });
      const { status, body } = await deliver(unconfigured.url, event);
      expect(status).toBe(503);
      expect(body.errors).toEqual([{ message: expect.stringMatching(/STRIPE_WEBHOOK_SECRET is not set/), extensions: { code: 'SERVICE_UNAVAILABLE' } }]);
      expect(await unconfigured.services.db.prisma.stripeEvent.count()).toBe(0);
    } finally {
      await unconfigured.stop();
    }
  });
});
