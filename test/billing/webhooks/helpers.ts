import { randomBytes } from 'node:crypto';
import type { PlanCode } from '../../../src/generated/prisma/enums';
import type { TestGateway } from '../../support/harness';
import { graphql } from '../../support/process';
import { newId, stripeEvent, subscriptionObject, type SubscriptionOptions } from '../../support/stripe-events';

export const SYSTEM = { type: 'system:test' } as const;

/** Price ids as `tollgraph stripe setup` would have stored them on the plans of the test database. */
export const PRICES = {
  PROFESSIONAL: ['price_test_pro_flat', 'price_test_pro_metered'],
  ENTERPRISE: ['price_test_ent_flat', 'price_test_ent_metered'],
} as const;

export async function setUpPrices(gateway: TestGateway): Promise<void> {
  const prisma = gateway.services.db.prisma;
  for (const code of ['PROFESSIONAL', 'ENTERPRISE'] as const) {
    await prisma.plan.update({ where: { code }, data: { stripeFlatPriceId: PRICES[code][0], stripeMeteredPriceId: PRICES[code][1] } });
  }
}

/** A new account (no key), quicker than newKey when a test needs many. */
export async function newAccount(gateway: TestGateway, plan: PlanCode = 'FREE'): Promise<string> {
  const suffix = randomBytes(6).toString('hex');
  const account = await gateway.services.accounts.create({ name: `Webhook ${suffix}`, email: `webhook-${suffix}@example.com`, planCode: plan }, SYSTEM);
  return account.id;
}

/** One Stripe subscription of an account, and events about it at chosen times. */
export function subscriptionOf(accountId: string, base: Partial<SubscriptionOptions> = {}) {
  const id = base.id ?? newId('sub');
  const customer = base.customer ?? newId('cus');
  const object = (changes: Partial<SubscriptionOptions>) =>
    subscriptionObject({ id, customer, status: 'active', prices: [...PRICES.PROFESSIONAL], accountId, planCode: 'PROFESSIONAL', ...base, ...changes });
  return {
    id,
    customer,
    object,
    event: (
      type: 'created' | 'updated' | 'deleted' | 'trial_will_end',
      created: Date,
      changes: Partial<SubscriptionOptions> = {},
      previousAttributes?: Record<string, unknown>,
    ) => stripeEvent(`customer.subscription.${type}`, object(changes), { created, previousAttributes }),
  };
}

export async function planOf(gateway: TestGateway, accountId: string): Promise<PlanCode> {
  return (await gateway.services.db.prisma.account.findUniqueOrThrow({ where: { id: accountId } })).planCode;
}

/** The daily quota and plan a gateway (this process or another) applies to `key` right now. */
export async function limitsSeenBy(url: string, key: string): Promise<{ limit: number; plan: PlanCode }> {
  const { status, body } = await graphql(url, '{ rateLimit { limit plan } }', { headers: { authorization: `Bearer ${key}` } });
  if (status !== 200 || !body.data) throw new Error(`rateLimit answered ${status}: ${JSON.stringify(body.errors)}`);
  return body.data.rateLimit;
}

export const DAY = 86_400_000;
