import type { SubscriptionFields } from '../subscriptions';

/**
 * Defensive readers for the objects inside Stripe events. Payloads are JSON in the API version
 * of the webhook endpoint, which is not necessarily the client library's, so fields are read
 * where either the current (2025-03-31 and later) or the older layout keeps them, and an
 * expanded object is accepted wherever an id is.
 */
export type StripeObject = Record<string, unknown>;

export function isObject(value: unknown): value is StripeObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** An id field that may hold the id or the expanded object. */
export function idOf(value: unknown): string | undefined {
  return str(value) ?? (isObject(value) ? str(value.id) : undefined);
}

/** Unix seconds to a Date (null when absent). */
export function dateOf(value: unknown): Date | null {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : null;
}

export function metadataOf(object: StripeObject | undefined): Record<string, string> {
  const metadata = object?.metadata;
  if (!isObject(metadata)) return {};
  return Object.fromEntries(Object.entries(metadata).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function listData(value: unknown): StripeObject[] {
  return isObject(value) && Array.isArray(value.data) ? value.data.filter(isObject) : [];
}

/** The subscription an invoice was issued for (`parent.subscription_details.subscription`, formerly `subscription`). */
export function invoiceSubscriptionId(invoice: StripeObject): string | undefined {
  const parent = isObject(invoice.parent) ? invoice.parent : undefined;
  const details = parent && isObject(parent.subscription_details) ? parent.subscription_details : undefined;
  return idOf(details?.subscription) ?? idOf(invoice.subscription);
}

/** The subscription's metadata as frozen on the invoice (where Checkout put accountId and planCode). */
export function invoiceSubscriptionMetadata(invoice: StripeObject): Record<string, string> {
  const parent = isObject(invoice.parent) ? invoice.parent : undefined;
  const details = parent && isObject(parent.subscription_details) ? parent.subscription_details : undefined;
  return { ...metadataOf(isObject(invoice.subscription_details) ? invoice.subscription_details : undefined), ...metadataOf(details) };
}

/** What an invoice says about its subscription's account, plan, customer and prices. */
export function invoiceHints(invoice: StripeObject) {
  const metadata = invoiceSubscriptionMetadata(invoice);
  return {
    accountId: metadata.accountId,
    planCode: metadata.planCode,
    product: metadata.product,
    customerId: idOf(invoice.customer),
    priceIds: invoicePriceIds(invoice),
  };
}

/** Price ids of the invoice's lines (`pricing.price_details.price`, formerly `price`). */
export function invoicePriceIds(invoice: StripeObject): string[] {
  return listData(invoice.lines)
    .map((line) => linePrice(line).priceId)
    .filter((id): id is string => id !== null);
}

/** One line of an invoice: what Stripe charged for one price over one period. */
export interface InvoiceLineFields {
  id: string;
  /** In the currency's smallest unit; negative for a proration credit. */
  amount: number;
  currency: string;
  priceId: string | null;
  productId: string | null;
  periodStart: Date | null;
  periodEnd: Date | null;
}

/** The price and product of a line (`pricing.price_details`, formerly `price`). */
function linePrice(line: StripeObject): { priceId: string | null; productId: string | null } {
  const pricing = isObject(line.pricing) ? line.pricing : undefined;
  const details = pricing && isObject(pricing.price_details) ? pricing.price_details : undefined;
  const price = isObject(line.price) ? line.price : undefined;
  return {
    priceId: idOf(details?.price) ?? idOf(line.price) ?? idOf(line.plan) ?? null,
    productId: idOf(details?.product) ?? idOf(price?.product) ?? null,
  };
}

/** The lines of an invoice (`lines.data`), each as InvoiceLineFields; lines without an id or amount are not lines. */
export function invoiceLineFields(lines: StripeObject[], invoiceCurrency: string | undefined): InvoiceLineFields[] {
  return lines.flatMap((line) => {
    const id = str(line.id);
    if (!id || typeof line.amount !== 'number') return [];
    const period = isObject(line.period) ? line.period : {};
    return [
      {
        id,
        amount: line.amount,
        currency: str(line.currency) ?? invoiceCurrency ?? 'usd',
        ...linePrice(line),
        periodStart: dateOf(period.start),
        periodEnd: dateOf(period.end),
      },
    ];
  });
}

/**
 * An invoice's or a credit note's lines as its event carries them, and whether that is all of
 * them (Stripe sends the first ones; `has_more` says there are others).
 */
export function carriedLines(object: StripeObject): { lines: StripeObject[]; complete: boolean } {
  return { lines: listData(object.lines), complete: !(isObject(object.lines) && object.lines.has_more === true) };
}

/** The object with `lines` replaced by all of them, as read from Stripe. */
export function withAllLines(object: StripeObject, lines: StripeObject[]): StripeObject {
  return { ...object, lines: { object: 'list', data: lines, has_more: false } };
}

/** One line of a credit note: what it takes back, of one invoice line or (a custom line) of none. */
export interface CreditNoteLineFields {
  id: string;
  /** Positive, in the currency's smallest unit, excluding tax and discounts. */
  amount: number;
  invoiceLineId: string | null;
}

/** The lines of a credit note (`lines.data`); lines without an id or amount are not lines. */
export function creditNoteLineFields(lines: StripeObject[]): CreditNoteLineFields[] {
  return lines.flatMap((line) => {
    const id = str(line.id);
    if (!id || typeof line.amount !== 'number') return [];
    return [{ id, amount: line.amount, invoiceLineId: idOf(line.invoice_line_item) ?? null }];
  });
}

/** Price ids of the subscription's items. */
export function subscriptionPriceIds(subscription: StripeObject): string[] {
  return listData(subscription.items)
    .map((item) => idOf(item.price) ?? idOf(item.plan))
    .filter((id): id is string => id !== undefined);
}

/**
 * The subscription's own fields. The billing period lives on the items since API 2025-03-31
 * (on the subscription before): the earliest start and the latest end of them.
 */
export function subscriptionFields(subscription: StripeObject): SubscriptionFields {
  const items = listData(subscription.items);
  const starts = items.map((item) => dateOf(item.current_period_start)).filter((d): d is Date => d !== null);
  const ends = items.map((item) => dateOf(item.current_period_end)).filter((d): d is Date => d !== null);
  const earliest = (dates: Date[]) => (dates.length ? new Date(Math.min(...dates.map(Number))) : null);
  const latest = (dates: Date[]) => (dates.length ? new Date(Math.max(...dates.map(Number))) : null);
  return {
    currentPeriodStart: earliest(starts) ?? dateOf(subscription.current_period_start),
    currentPeriodEnd: latest(ends) ?? dateOf(subscription.current_period_end),
    cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
    canceledAt: dateOf(subscription.canceled_at),
    endedAt: dateOf(subscription.ended_at),
    trialEnd: dateOf(subscription.trial_end),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Our ids are UUIDs; anything else in a metadata field cannot name one of our rows. */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
