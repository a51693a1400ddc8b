import { z } from 'zod';
import { EUR_PER_UNIT } from './model/parameters';
import { CHANNELS, type Transaction } from './model/types';

/**
 * The `transactions` event contract (API.md; the catalog publishes the same rules as JSON
 * Schema in src/catalog/customer-risk-scores.ts). Unknown properties are refused.
 */
const id = z.string().min(1).max(128);
const TIMESTAMP_MIN = Date.UTC(2000, 0, 1);
const TIMESTAMP_MAX = Date.UTC(2100, 0, 1);

export const transactionEventSchema = z.strictObject({
  eventId: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, { error: 'expected a UUID' }),
  customerId: id,
  merchantId: id,
  mcc: z.string().regex(/^[0-9]{4}$/, { error: 'expected a 4-digit merchant category code' }),
  // Up to 14 integer digits: the history column is numeric(18,4).
  amount: z.string().regex(/^(0|[1-9][0-9]{0,13})(\.[0-9]{1,4})?$/, { error: 'expected a non-negative decimal string like "129.90"' }),
  currency: z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 currency code' }),
  country: z.string().regex(/^[A-Z]{2}$/, { error: 'expected an ISO 3166-1 alpha-2 country code' }),
  channel: z.enum(CHANNELS),
  deviceId: id,
  timestamp: z.iso
    .datetime({ offset: true, error: 'expected an ISO 8601 date-time with offset, like 2026-11-24T10:15:00.000Z' })
    .refine((value) => {
      const time = Date.parse(value);
      return time >= TIMESTAMP_MIN && time < TIMESTAMP_MAX;
    }, 'expected a time in the years 2000-2099'),
});

export type TransactionEvent = z.infer<typeof transactionEventSchema>;

export type DlqReason = 'OVERSIZED' | 'MALFORMED' | 'SCHEMA_VIOLATION' | 'KEY_MISMATCH';

export type Decoded = { ok: true; tx: Transaction } | { ok: false; reason: DlqReason; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(event)'}: ${issue.message}`)
    .join('; ');
}

export function toTransaction(event: TransactionEvent): Transaction {
  return {
    ...event,
    time: Date.parse(event.timestamp),
    amountEur: Number(event.amount) * (EUR_PER_UNIT[event.currency] ?? 1),
  };
}

/**
 * Checks one Kafka record against the contract: size, UTF-8 JSON, schema, and that the key is
 * the customerId (the partitioning the per-customer state relies on). Never throws.
 */
export function decodeTransaction(value: Buffer | null, key: Buffer | string | null, maxBytes: number): Decoded {
  if (!value || value.length === 0) return { ok: false, reason: 'MALFORMED', detail: 'empty message' };
  if (value.length > maxBytes) return { ok: false, reason: 'OVERSIZED', detail: `${value.length} bytes; at most ${maxBytes} allowed` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(value));
  } catch (error) {
    return { ok: false, reason: 'MALFORMED', detail: error instanceof SyntaxError ? `not JSON: ${error.message}` : 'not UTF-8 text' };
  }
  const result = transactionEventSchema.safeParse(parsed);
  if (!result.success) return { ok: false, reason: 'SCHEMA_VIOLATION', detail: describeIssues(result.error) };
  const event = result.data;
  if (key !== null) {
    const keyText = typeof key === 'string' ? key : key.toString('utf8');
    if (keyText !== event.customerId) return { ok: false, reason: 'KEY_MISMATCH', detail: `message key "${keyText.slice(0, 128)}" is not the customerId` };
  } else {
    return { ok: false, reason: 'KEY_MISMATCH', detail: 'message has no key; it must be the customerId' };
  }
  return { ok: true, tx: toTransaction(event) };
}

/** Serialises an event the way producers should (the feed uses it). */
export function encodeTransaction(event: TransactionEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}
