import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

/**
 * Builders for Stripe webhook payloads as Stripe sends them (API 2026-10-28 layout: billing
 * periods on the items, an invoice's subscription under `parent.subscription_details`), signed
 * with `stripe.webhooks.generateTestHeaderString` like Stripe signs them.
 */

export const WEBHOOK_SECRET = 'whsec_tollgraph_test_0123456789abcdef';

/** A `new Stripe(...)` instance needs no network to sign. */
const stripe = new Stripe('sk_test_x');

const seq = () => randomBytes(8).toString('hex');
export const newId = (prefix: 'evt' | 'sub' | 'cus' | 'in' | 'cs' | 'si' | 'cn') => `${prefix}_test${seq()}`;

/** Unix seconds. */
export const seconds = (date: Date | number) => Math.floor((typeof date === 'number' ? date : date.getTime()) / 1000);

export interface StripeEventPayload {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
}

export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  options: { id?: string; created?: Date | number; previousAttributes?: Record<string, unknown> } = {},
): StripeEventPayload {
  return {
    id: options.id ?? newId('evt'),
    object: 'event',
    api_version: '2026-10-28.endive',
    created: seconds(options.created ?? Date.now()),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object, ...(options.previousAttributes ? { previous_attributes: options.previousAttributes } : {}) },
  };
}

export interface SubscriptionOptions {
  id: string;
  customer: string;
  status: string;
  /** Prices of the items (flat and metered). */
  prices: string[];
  accountId?: string;
  planCode?: string;
  created?: Date;
  periodStart?: Date;
  periodEnd?: Date;
  cancelAtPeriodEnd?: boolean;
  canceledAt?: Date | null;
  endedAt?: Date | null;
  trialEnd?: Date | null;
}

export function subscriptionObject(o: SubscriptionOptions): Record<string, unknown> {
  const created = o.created ?? new Date(Date.now() - 3_600_000);
  const periodStart = o.periodStart ?? created;
  const periodEnd = o.periodEnd ?? new Date(periodStart.getTime() + 30 * 86_400_000);
  return {
    id: o.id,
    object: 'subscription',
    customer: o.customer,
    status: o.status,
    created: seconds(created),
    start_date: seconds(created),
    cancel_at_period_end: o.cancelAtPeriodEnd ?? false,
    canceled_at: o.canceledAt ? seconds(o.canceledAt) : null,
    ended_at: o.endedAt ? seconds(o.endedAt) : null,
    trial_end: o.trialEnd ? seconds(o.trialEnd) : null,
    livemode: false,
    metadata: { ...(o.accountId ? { accountId: o.accountId } : {}), ...(o.planCode ? { planCode: o.planCode } : {}) },
    items: {
      object: 'list',
      has_more: false,
      data: o.prices.map((price) => ({
        id: newId('si'),
        object: 'subscription_item',
        subscription: o.id,
        current_period_start: seconds(periodStart),
        current_period_end: seconds(periodEnd),
        price: { id: price, object: 'price' },
        quantity: 1,
      })),
    },
  };
}

export interface InvoiceOptions {
  subscription: string;
  customer: string;
  paid: boolean;
  billingReason?: 'subscription_create' | 'subscription_cycle' | 'subscription_update';
  prices?: string[];
  /** Whole line items (`invoiceLine`), in place of `prices`; `hasMore`: Stripe left further lines out of the event. */
  lines?: Array<Record<string, unknown>>;
  hasMore?: boolean;
  accountId?: string;
  planCode?: string;
  /** The data product of an add-on subscription. */
  product?: string;
}

/** An invoice line item as Stripe lists it: an amount for a price of a product over a period. */
export function invoiceLine(o: {
  price: string;
  product: string;
  amount: number;
  periodStart: Date | number;
  periodDays?: number;
}): Record<string, unknown> & { id: string } {
  const start = seconds(o.periodStart);
  return {
    id: `il_${seq()}`,
    object: 'line_item',
    amount: o.amount,
    currency: 'usd',
    period: { start, end: start + (o.periodDays ?? 30) * 86_400 },
    pricing: { type: 'price_details', price_details: { price: o.price, product: o.product }, unit_amount_decimal: String(o.amount) },
  };
}

export function invoiceObject(o: InvoiceOptions): Record<string, unknown> {
  return {
    id: newId('in'),
    object: 'invoice',
    customer: o.customer,
    status: o.paid ? 'paid' : 'open',
    billing_reason: o.billingReason ?? 'subscription_cycle',
    amount_due: 250000,
    amount_paid: o.paid ? 250000 : 0,
    attempt_count: 1,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: {
        subscription: o.subscription,
        metadata: {
          ...(o.accountId ? { accountId: o.accountId } : {}),
          ...(o.planCode ? { planCode: o.planCode } : {}),
          ...(o.product ? { product: o.product } : {}),
        },
      },
    },
    lines: {
      object: 'list',
      has_more: o.hasMore ?? false,
      data:
        o.lines ??
        (o.prices ?? []).map((price) => ({
          id: `il_${seq()}`,
          object: 'line_item',
          pricing: { type: 'price_details', price_details: { price, product: 'prod_x' }, unit_amount_decimal: '250000' },
        })),
    },
  };
}

export function checkoutSessionObject(o: {
  customer: string;
  subscription: string | null;
  accountId?: string;
  planCode?: string;
  paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
}): Record<string, unknown> {
  return {
    id: newId('cs'),
    object: 'checkout.session',
    mode: 'subscription',
    status: 'complete',
    payment_status: o.paymentStatus ?? 'paid',
    customer: o.customer,
    subscription: o.subscription,
    client_reference_id: o.accountId ?? null,
    metadata: { ...(o.accountId ? { accountId: o.accountId } : {}), ...(o.planCode ? { planCode: o.planCode } : {}) },
  };
}

/** The `Stripe-Signature` header for `payload`, as Stripe computes it. */
export function signatureFor(payload: string, { secret = WEBHOOK_SECRET, timestamp }: { secret?: string; timestamp?: number } = {}): string {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp !== undefined ? { timestamp } : {}) });
}

export interface Delivery {
  status: number;
  /** 200: `{ received, status }`; a refusal: the gateway's error body (docs/contract.md); not JSON: `raw`. */
  body: { received?: boolean; status?: string; errors?: Array<{ message: string; extensions: { code: string } }>; raw?: string };
}

/**
 * POSTs an event to `/webhooks/stripe` the way Stripe does: the exact bytes that were signed.
 * `signature: null` leaves the header out; a string replaces it.
 */
export async function deliver(
  baseUrl: string,
  event: StripeEventPayload | string,
  options: { secret?: string; timestamp?: number; signature?: string | null; contentType?: string } = {},
): Promise<Delivery> {
  const payload = typeof event === 'string' ? event : JSON.stringify(event, null, 2);
  const signature = options.signature === undefined ? signatureFor(payload, options) : options.signature;
  const response = await fetch(`${baseUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json; charset=utf-8',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      ...(signature === null ? {} : { 'stripe-signature': signature }),
    },
    body: payload,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let body: Delivery['body'] = {};
  try {
    body = JSON.parse(text) as Delivery['body'];
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body };
}

/** Every permutation of `items` (for "delivered in any order" tests). */
export function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** A credit note line: takes `amount` back of one invoice line, or (no `invoiceLine`) a custom amount of none. */
export function creditNoteLine(o: { amount: number; invoiceLine?: string }): Record<string, unknown> & { id: string } {
  return {
    id: `cnli_${seq()}`,
    object: 'credit_note_line_item',
    amount: o.amount,
    type: o.invoiceLine ? 'invoice_line_item' : 'custom_line_item',
    invoice_line_item: o.invoiceLine ?? null,
    quantity: 1,
  };
}

/** A credit note on an invoice, as its `credit_note.*` events carry it (`hasMore`: Stripe left further lines out). */
export function creditNoteObject(o: {
  invoice: string;
  customer: string;
  lines: Array<Record<string, unknown>>;
  hasMore?: boolean;
  status?: 'issued' | 'void';
}): Record<string, unknown> & { id: string } {
  return {
    id: newId('cn'),
    object: 'credit_note',
    invoice: o.invoice,
    customer: o.customer,
    currency: 'usd',
    status: o.status ?? 'issued',
    type: 'post_payment',
    amount: o.lines.reduce((sum, line) => sum + (line.amount as number), 0),
    lines: { object: 'list', has_more: o.hasMore ?? false, data: o.lines },
  };
}
