import type { AccountService } from '../../accounts/service';
import type { Actor } from '../../audit/audit';
import type { Prisma } from '../../generated/prisma/client';
import type { Logger } from '../../ops/logger';
import type { SubscriptionSignal } from '../subscriptions';
import type { StripeObject } from './stripe-objects';

/** Who changes accounts on Stripe's behalf, in the audit log (`requestId` holds the Stripe event id). */
export const STRIPE_ACTOR: Actor = { type: 'system:stripe' };

/** A verified Stripe event as stored: what every handler reads. */
export interface StoredEvent {
  id: string;
  type: string;
  /** Stripe's `event.created`: the time the change happened at Stripe. */
  created: Date;
  livemode: boolean;
  /** `data.object`: the object as it was when the event happened. */
  object: StripeObject;
}

/** What a handler works with: the event's own database transaction. */
export interface ApplyContext {
  tx: Prisma.TransactionClient;
  event: StoredEvent;
  now: Date;
  /** BILLING_PAST_DUE_GRACE_DAYS in milliseconds. */
  graceMs: number;
  log: Logger;
  /** Accounts are changed only through it, in `tx`. */
  accounts: Pick<AccountService, 'setPlanIn' | 'linkStripeCustomerIn'>;
  /** Accounts changed in this transaction: their caches are dropped on every gateway process after the commit. */
  touchedAccounts: Set<string>;
}

/** What a handler may read from Stripe to complete its event (absent without a Stripe client). */
export interface StripeReads {
  /** Every line of an invoice. */
  invoiceLineItems(invoiceId: string): Promise<StripeObject[]>;
  /** Every line of a credit note. */
  creditNoteLineItems(creditNoteId: string): Promise<StripeObject[]>;
}

/**
 * One per Stripe event type (handlers/<event-type>.ts), after Lago's webhook services. A handler
 * says which subscription its event is about and what the event says about it; the subscription's
 * state is then folded from all of its stored events (subscriptions.ts), which is what makes
 * the outcome independent of delivery order. `apply` holds any other effect.
 */
export interface WebhookHandler {
  type: string;
  /** Order among events of the same second of Stripe time (created < updated < checkout < invoices < deleted). */
  rank: number;
  /** The Stripe subscription the event is about, if any. */
  subscriptionOf(object: StripeObject): string | undefined;
  /** What the event says about that subscription. Pure: it is also called for older stored events. */
  signal?(event: StoredEvent): SubscriptionSignal;
  /**
   * The event with what its object leaves out read from Stripe (an invoice's lines beyond the
   * first ones), before the event's transaction: no network call is made while the transaction
   * holds its subscription's lock and a database connection.
   */
  complete?(event: StoredEvent, stripe: StripeReads | undefined): Promise<StoredEvent>;
  /** Effects besides the subscription's state, in the event's transaction; `ignored` when the event is not ours. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that acts returns nothing; one that does not act says so
  apply?(context: ApplyContext): Promise<void | 'ignored'>;
}

/**
 * The event is valid but cannot be applied (no account to apply it to, a plan we cannot name, an
 * unknown status). The event is kept as FAILED with this message and the endpoint answers 500,
 * so Stripe delivers it again; an admin can fix the cause and re-apply it.
 */
export class WebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookError';
  }
}
