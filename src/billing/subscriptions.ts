import type { PlanCode, SubscriptionStatus } from '../generated/prisma/enums';

/**
 * A subscription's state and the plan it entitles its account to, derived from Stripe's events.
 *
 * Stripe delivers at least once and in any order, so nothing here depends on arrival order: the
 * state of a subscription is a fold of *all* its stored events, sorted by Stripe's own time
 * (`event.created`) and, within one second, by how events follow each other in Stripe's
 * lifecycle. The same set of events gives the same state whatever order they came in, and a
 * late or repeated event is folded in again at its place. Pure functions: no I/O.
 */

/** What one event says about its subscription (each handler in webhooks/handlers/ maps its event to one). */
export type SubscriptionSignal =
  /** The subscription object itself, as it was when the event happened (customer.subscription.*). */
  | { kind: 'snapshot'; status: SubscriptionStatus; hints: Hints }
  /** A payment went through (invoice.paid; a paid Checkout Session). */
  | { kind: 'paid'; hints: Hints }
  /** A payment failed (invoice.payment_failed); `firstInvoice` for the invoice that creates the subscription. */
  | { kind: 'payment_failed'; firstInvoice: boolean; hints: Hints }
  /** Nothing about its status, only who and what it is for (e.g. a Checkout Session still awaiting payment). */
  | { kind: 'hints'; hints: Hints };

/** Links an event offers to our records; any may be missing. */
export interface Hints {
  accountId?: string;
  planCode?: string;
  /** A data product's slug: the subscription is that product's add-on, not a plan (createAddOnCheckoutSession). */
  product?: string;
  customerId?: string;
  /** Prices of the subscription's items (or the invoice's lines): they name the plan. */
  priceIds?: string[];
  /** Only on snapshots: the subscription's own fields. */
  subscription?: SubscriptionFields;
}

export interface SubscriptionFields {
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  endedAt: Date | null;
  trialEnd: Date | null;
}

export interface FoldableEvent {
  id: string;
  type: string;
  /** Stripe's `event.created`. */
  created: Date;
  /** Order within the same second (see EVENT_RANK). */
  rank: number;
  signal: SubscriptionSignal;
}

/** Statuses Stripe never leaves: once there, no later event (or late delivery) changes the subscription. */
export const TERMINAL_STATUSES: ReadonlySet<SubscriptionStatus> = new Set<SubscriptionStatus>(['canceled', 'incomplete_expired']);

/** Stripe's lifecycle, to order two snapshots of the same second: incomplete -> trialing -> active -> past_due -> unpaid/paused -> ended. */
const STATUS_RANK: Record<SubscriptionStatus, number> = {
  incomplete: 0,
  trialing: 1,
  active: 2,
  past_due: 3,
  unpaid: 4,
  paused: 5,
  canceled: 9,
  incomplete_expired: 9,
};

export function isSubscriptionStatus(value: unknown): value is SubscriptionStatus {
  return typeof value === 'string' && Object.hasOwn(STATUS_RANK, value);
}

function compare(a: FoldableEvent, b: FoldableEvent): number {
  return (
    a.created.getTime() - b.created.getTime() ||
    a.rank - b.rank ||
    (a.signal.kind === 'snapshot' && b.signal.kind === 'snapshot' ? STATUS_RANK[a.signal.status] - STATUS_RANK[b.signal.status] : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

export interface FoldedSubscription {
  /** Undefined when no event said anything about the status yet (e.g. only an unpaid Checkout Session). */
  status?: SubscriptionStatus;
  /** Start of the current spell of failed payments: when the grace period started. */
  pastDueSince: Date | null;
  /** The latest snapshot's own fields, if any snapshot was seen. */
  subscription?: SubscriptionFields;
  /** Hints of every folded event, newest first (the newest link wins). */
  hints: Hints[];
  /** The newest event that counted, and its time: the row's `lastEventId` and `stripeUpdatedAt`. */
  lastEvent?: { id: string; created: Date };
  /** Events that came (in Stripe's order) after the subscription had ended: they change nothing. */
  afterEnd: string[];
}

/**
 * Folds a subscription's events in Stripe's order. Rules:
 * - a snapshot sets the status (it is the object as Stripe had it then);
 * - a payment after it moves incomplete/past_due/unpaid to active; a failed one moves
 *   active/trialing to past_due (the first invoice's failure leaves it incomplete, as Stripe does);
 * - the grace period starts at the first failure (or past_due snapshot) not followed by a payment;
 * - once ended (canceled, incomplete_expired) nothing later counts, whatever its timestamp: a
 *   late `updated` cannot resurrect a deleted subscription.
 */
export function foldSubscription(events: FoldableEvent[]): FoldedSubscription {
  const sorted = [...events].sort(compare);
  const folded: FoldedSubscription = { pastDueSince: null, hints: [], afterEnd: [] };
  let ended = false;
  for (const event of sorted) {
    if (ended) {
      folded.afterEnd.push(event.id);
      continue;
    }
    const { signal, created } = event;
    switch (signal.kind) {
      case 'snapshot':
        folded.status = signal.status;
        if (signal.hints.subscription) folded.subscription = signal.hints.subscription;
        if (signal.status === 'past_due' || signal.status === 'unpaid') folded.pastDueSince ??= created;
        else folded.pastDueSince = null;
        ended = TERMINAL_STATUSES.has(signal.status);
        break;
      case 'paid':
        if (folded.status === undefined || folded.status === 'incomplete' || folded.status === 'past_due' || folded.status === 'unpaid')
          folded.status = 'active';
        folded.pastDueSince = null;
        break;
      case 'payment_failed':
        if (folded.status === undefined) folded.status = signal.firstInvoice ? 'incomplete' : 'past_due';
        else if (folded.status === 'active' || folded.status === 'trialing') folded.status = 'past_due';
        if (folded.status === 'past_due' || folded.status === 'unpaid') folded.pastDueSince ??= created;
        break;
      case 'hints':
        break;
    }
    folded.hints.unshift(signal.hints);
    folded.lastEvent = { id: event.id, created };
  }
  return folded;
}

/** Plans from cheapest to dearest: an account with several subscriptions gets the best one. */
export const PLAN_ORDER: Record<PlanCode, number> = { FREE: 0, PROFESSIONAL: 1, ENTERPRISE: 2 };

export interface EntitlingSubscription {
  planCode: PlanCode;
  status: SubscriptionStatus;
  pastDueSince: Date | null;
}

/** When the grace period of a past_due subscription ends (null when it is not past_due). */
export function graceEndsAt(subscription: Pick<EntitlingSubscription, 'status' | 'pastDueSince'>, graceMs: number): Date | null {
  if (subscription.status !== 'past_due' || !subscription.pastDueSince) return null;
  return new Date(subscription.pastDueSince.getTime() + graceMs);
}

/**
 * The plan one subscription entitles to at `now`: its plan while active or trialing, and while
 * past_due within the grace period; FREE otherwise (incomplete, unpaid, paused, ended).
 */
export function entitledPlan(subscription: EntitlingSubscription, now: Date, graceMs: number): PlanCode {
  switch (subscription.status) {
    case 'active':
    case 'trialing':
      return subscription.planCode;
    case 'past_due': {
      const ends = graceEndsAt(subscription, graceMs);
      return !ends || now < ends ? subscription.planCode : 'FREE';
    }
    default:
      return 'FREE';
  }
}

/**
 * The plan an account should be on given its subscriptions: the best any of them entitles to.
 * Undefined without subscriptions: the plan is then an admin's decision, not Stripe's.
 */
export function accountPlan(subscriptions: EntitlingSubscription[], now: Date, graceMs: number): PlanCode | undefined {
  if (subscriptions.length === 0) return undefined;
  return subscriptions
    .map((subscription) => entitledPlan(subscription, now, graceMs))
    .reduce((best, plan) => (PLAN_ORDER[plan] > PLAN_ORDER[best] ? plan : best), 'FREE');
}
