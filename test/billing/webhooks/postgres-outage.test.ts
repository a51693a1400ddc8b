import { startTestGateway, type TestGateway } from '../../support/harness';
import { privateService, type PrivateService } from '../../support/private-service';
import { waitFor } from '../../support/process';
import { deliver, WEBHOOK_SECRET } from '../../support/stripe-events';
import { planOf, setUpPrices, subscriptionOf } from './helpers';

/** Our database down: Stripe is told to retry (5xx), never 200 for an event not applied; its retry applies. */
describe('Stripe webhooks while Postgres is down', () => {
  let postgres: PrivateService;
  let gateway: TestGateway;

  beforeAll(async () => {
    postgres = await privateService('postgres');
    gateway = await startTestGateway({ DATABASE_URL: postgres.url, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await setUpPrices(gateway);
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    await postgres?.destroy();
  });

  it('answers 5xx while Postgres is stopped, and applies the redelivery once it is back', async () => {
    const { accountId } = await gateway.newKey({ plan: 'FREE' });
    const event = subscriptionOf(accountId).event('created', new Date());

    await postgres.stop();
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const { status, body } = await deliver(gateway.url, event);
        expect({ status, body }).toEqual({
          status: 503,
          body: { errors: [{ message: expect.stringMatching(/database is unavailable/), extensions: { code: 'SERVICE_UNAVAILABLE' } }] },
        });
      }
    } finally {
      await postgres.start();
    }

    // Stripe retries until it gets a 2xx; every answer before that must be a 5xx.
    const answers: number[] = [];
    await waitFor(
      'a redelivery to be applied',
      async () => {
        const { status } = await deliver(gateway.url, event);
        answers.push(status);
        return status === 200;
      },
      30_000,
      250,
    );
    expect(answers.slice(0, -1).every((status) => status >= 500)).toBe(true);

    expect(await planOf(gateway, accountId)).toBe('PROFESSIONAL');
    expect(await gateway.services.db.prisma.stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({ status: 'PROCESSED' });
    expect((await deliver(gateway.url, event)).body.status).toBe('duplicate');
  });
});
