import { accountPlan, entitledPlan, foldSubscription, type FoldableEvent } from '../../../src/billing/subscriptions';
import { handlerFor } from '../../../src/billing/webhooks/handlers';
import { storedEventOf } from '../../../src/billing/webhooks/subscription-sync';
import { invoiceObject, permutations, stripeEvent, subscriptionObject, type StripeEventPayload } from '../../support/stripe-events';

const DAY = 86_400_000;
const SUB = 'sub_fold';
const CUS = 'cus_fold';
const t0 = new Date('2026-10-01T12:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** Turns payloads into what the fold sees, through the real handlers. */
function foldable(events: StripeEventPayload[]): FoldableEvent[] {
  return events.map((payload) => {
    const handler = handlerFor(payload.type)!;
    const stored = storedEventOf({
      id: payload.id,
      type: payload.type,
      stripeCreatedAt: new Date(payload.created * 1000),
      livemode: false,
      payload: payload as never,
    });
    return { id: payload.id, type: payload.type, created: stored.created, rank: handler.rank, signal: handler.signal!(stored) };
  });
}

const sub = (type: string, when: Date, status: string, extra: Partial<Parameters<typeof subscriptionObject>[0]> = {}) =>
  stripeEvent(`customer.subscription.${type}`, subscriptionObject({ id: SUB, customer: CUS, status, prices: ['price_pro'], ...extra }), { created: when });
const invoice = (
  type: 'invoice.paid' | 'invoice.payment_failed',
  when: Date,
  billingReason: 'subscription_create' | 'subscription_cycle' = 'subscription_cycle',
) => stripeEvent(type, invoiceObject({ subscription: SUB, customer: CUS, paid: type === 'invoice.paid', billingReason }), { created: when });

/** A month of a subscription's life as Stripe sends it: sign-up, a failed renewal, the retry that succeeds. */
const life = [
  sub('created', t0, 'incomplete'),
  invoice('invoice.paid', at(2_000), 'subscription_create'),
  sub('updated', at(2_000), 'active'),
  invoice('invoice.payment_failed', at(30 * DAY)),
  sub('updated', at(30 * DAY), 'past_due'),
  invoice('invoice.paid', at(33 * DAY)),
  sub('updated', at(33 * DAY), 'active'),
];

describe('foldSubscription', () => {
  it('reaches the same state in every one of 5040 delivery orders', () => {
    const events = foldable(life);
    for (const order of permutations(events)) {
      // Within the same second an invoice ranks after the subscription's update: the payment is the last word.
      expect(foldSubscription(order)).toMatchObject({ status: 'active', pastDueSince: null, lastEvent: { id: life[5].id } });
    }
  });

  it('dates the grace period from the first failure, whatever arrives first', () => {
    const events = foldable(life.slice(0, 5));
    for (const order of permutations(events)) {
      expect(foldSubscription(order)).toMatchObject({ status: 'past_due', pastDueSince: at(30 * DAY) });
    }
    // Without Stripe's own past_due update, the failed invoice alone says as much.
    expect(foldSubscription(foldable(life.slice(0, 4)))).toMatchObject({ status: 'past_due', pastDueSince: at(30 * DAY) });
  });

  it('keeps a first payment that failed incomplete, and activates it when paid', () => {
    const failed = invoice('invoice.payment_failed', at(1_000), 'subscription_create');
    expect(foldSubscription(foldable([sub('created', t0, 'incomplete'), failed]))).toMatchObject({ status: 'incomplete', pastDueSince: null });
    expect(foldSubscription(foldable([failed]))).toMatchObject({ status: 'incomplete' });
    expect(foldSubscription(foldable([failed, invoice('invoice.paid', at(60_000), 'subscription_create')]))).toMatchObject({ status: 'active' });
  });

  it('ends for good: nothing after a deletion counts, whatever its timestamp or arrival', () => {
    const deleted = sub('deleted', at(40 * DAY), 'canceled');
    const late = [sub('updated', at(41 * DAY), 'active'), invoice('invoice.paid', at(42 * DAY))];
    // 720 orders of sign-up, activation, deletion and two late events (the whole life would be 10! orders).
    for (const order of permutations(foldable([life[0], life[1], life[2], deleted, ...late]))) {
      const folded = foldSubscription(order);
      expect(folded).toMatchObject({ status: 'canceled', lastEvent: { id: deleted.id } });
      expect(folded.afterEnd.sort()).toEqual(late.map((e) => e.id).sort());
    }
  });

  it('treats a deleted event as ended even if its object says otherwise', () => {
    expect(foldSubscription(foldable([sub('deleted', t0, 'active')]))).toMatchObject({ status: 'canceled' });
  });
});

describe('entitledPlan and accountPlan', () => {
  const grace = 7 * DAY;
  const now = at(40 * DAY);
  const pastDue = (days: number) => ({ planCode: 'PROFESSIONAL' as const, status: 'past_due' as const, pastDueSince: new Date(now.getTime() - days * DAY) });

  it('keeps the plan through the grace period of a past_due subscription, then FREE', () => {
    expect(entitledPlan(pastDue(6.99), now, grace)).toBe('PROFESSIONAL');
    expect(entitledPlan(pastDue(7), now, grace)).toBe('FREE');
    expect(entitledPlan({ ...pastDue(0), pastDueSince: null }, now, grace)).toBe('PROFESSIONAL');
  });

  it('gives the plan only while active or trialing', () => {
    for (const status of ['active', 'trialing'] as const)
      expect(entitledPlan({ planCode: 'ENTERPRISE', status, pastDueSince: null }, now, grace)).toBe('ENTERPRISE');
    for (const status of ['incomplete', 'incomplete_expired', 'unpaid', 'paused', 'canceled'] as const)
      expect(entitledPlan({ planCode: 'ENTERPRISE', status, pastDueSince: null }, now, grace)).toBe('FREE');
  });

  it('takes the best of an account’s subscriptions, and leaves accounts without any alone', () => {
    expect(
      accountPlan(
        [
          { planCode: 'ENTERPRISE', status: 'canceled', pastDueSince: null },
          { planCode: 'PROFESSIONAL', status: 'active', pastDueSince: null },
        ],
        now,
        grace,
      ),
    ).toBe('PROFESSIONAL');
    expect(accountPlan([{ planCode: 'ENTERPRISE', status: 'canceled', pastDueSince: null }], now, grace)).toBe('FREE');
    expect(accountPlan([], now, grace)).toBeUndefined();
  });
});
