import { z } from 'zod';
import { MAGIC_BYTE } from '../catalog/registry/wire';
import { EUR_PER_UNIT } from './model/parameters';
import { CHANNELS, type Transaction } from './model/types';

/**
 * The `transactions` event contract (docs/contract.md; the catalog publishes the same rules as JSON
 * Schema in src/catalog/customer-risk-scores.ts). Unknown properties are refused.
 */
const ID_MAX = 128;
const id = z.string().min(1).max(ID_MAX);
const TIMESTAMP_MIN = Date.UTC(2000, 0, 1);
const TIMESTAMP_MAX = Date.UTC(2100, 0, 1);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MCC = /^[0-9]{4}$/;
// Up to 14 integer digits: the history column is numeric(18,4).
const AMOUNT = /^(0|[1-9][0-9]{0,13})(\.[0-9]{1,4})?$/;
const CURRENCY = /^[A-Z]{3}$/;
const COUNTRY = /^[A-Z]{2}$/;
const dateTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with offset, like 2026-11-24T10:15:00.000Z' });
const inRange = (time: number) => time >= TIMESTAMP_MIN && time < TIMESTAMP_MAX;

export const transactionEventSchema = z.strictObject({
  eventId: z.string().regex(UUID, { error: 'expected a UUID' }),
  customerId: id,
  merchantId: id,
  mcc: z.string().regex(MCC, { error: 'expected a 4-digit merchant category code' }),
  amount: z.string().regex(AMOUNT, { error: 'expected a non-negative decimal string like "129.90"' }),
  currency: z.string().regex(CURRENCY, { error: 'expected an ISO 4217 currency code' }),
  country: z.string().regex(COUNTRY, { error: 'expected an ISO 3166-1 alpha-2 country code' }),
  channel: z.enum(CHANNELS),
  deviceId: id,
  timestamp: dateTime.refine((value) => inRange(Date.parse(value)), 'expected a time in the years 2000-2099'),
});

/**
 * The hot path's check of a valid event: the schema's own rules (the same regular expressions,
 * zod's own date-time pattern, the same bounds), without building zod's result and issues. It
 * only ever says yes where the schema would; anything else goes through the schema, which then
 * decides and explains. Disabled (everything through zod) if zod stops exposing its pattern.
 */
const DATE_TIME: RegExp | undefined =
  (dateTime as unknown as { _zod?: { pattern?: unknown } })._zod?.pattern instanceof RegExp
    ? (dateTime as unknown as { _zod: { pattern: RegExp } })._zod.pattern
    : undefined;
const CHANNEL_SET: ReadonlySet<unknown> = new Set(CHANNELS);
const FIELDS = Object.keys(transactionEventSchema.shape).length;
const isId = (value: unknown) => typeof value === 'string' && value.length >= 1 && value.length <= ID_MAX;
const matches = (value: unknown, pattern: RegExp) => typeof value === 'string' && pattern.test(value);

/** Counts own keys without building Object.keys' array (this runs for every event). */
function keyCount(object: object): number {
  let n = 0;
  for (const _ in object) n++;
  return n;
}

/** The event time of a plainly valid event (see above), or undefined: then the schema decides. */
function plainlyValidTime(value: unknown): number | undefined {
  if (DATE_TIME === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const event = value as Record<string, unknown>;
  const valid =
    keyCount(event) === FIELDS &&
    matches(event.eventId, UUID) &&
    isId(event.customerId) &&
    isId(event.merchantId) &&
    matches(event.mcc, MCC) &&
    matches(event.amount, AMOUNT) &&
    matches(event.currency, CURRENCY) &&
    matches(event.country, COUNTRY) &&
    CHANNEL_SET.has(event.channel) &&
    isId(event.deviceId) &&
    matches(event.timestamp, DATE_TIME);
  if (!valid) return undefined;
  const time = Date.parse(event.timestamp as string);
  return inRange(time) ? time : undefined;
}

export type TransactionEvent = z.infer<typeof transactionEventSchema>;

export type DlqReason = 'OVERSIZED' | 'MALFORMED' | 'SCHEMA_VIOLATION' | 'KEY_MISMATCH' | 'UNKNOWN_SCHEMA';

export type AvroRead = { ok: true; event: unknown } | { ok: false; reason: DlqReason; detail: string };

/** Reads a Confluent-framed Avro event (src/risk/avro.ts implements it with the registry's schemas). */
export interface AvroReader {
  read(value: Buffer): AvroRead;
}

export type Decoded = { ok: true; tx: Transaction } | { ok: false; reason: DlqReason; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(event)'}: ${issue.message}`)
    .join('; ');
}

/** `time` is Date.parse(event.timestamp), when the caller has it already. */
export function toTransaction(event: TransactionEvent, time = Date.parse(event.timestamp)): Transaction {
  // Field by field (in the schema's order) rather than a spread: one object shape for every event.
  return {
    eventId: event.eventId,
    customerId: event.customerId,
    merchantId: event.merchantId,
    mcc: event.mcc,
    amount: event.amount,
    currency: event.currency,
    country: event.country,
    channel: event.channel,
    deviceId: event.deviceId,
    timestamp: event.timestamp,
    time,
    amountEur: Number(event.amount) * (EUR_PER_UNIT[event.currency] ?? 1),
  };
}

/**
 * Checks one Kafka record against the contract: size, UTF-8 JSON or Confluent-framed Avro (the
 * first byte tells: magic byte 0; `avro` holds the batch's writer schemas), schema, and that the
 * key is the customerId (the partitioning the per-customer state relies on). Never throws.
 */
export function decodeTransaction(value: Buffer | null, key: Buffer | string | null, maxBytes: number, avro?: AvroReader): Decoded {
  if (!value || value.length === 0) return { ok: false, reason: 'MALFORMED', detail: 'empty message' };
  if (value.length > maxBytes) return { ok: false, reason: 'OVERSIZED', detail: `${value.length} bytes; at most ${maxBytes} allowed` };
  let parsed: unknown;
  if (value[0] === MAGIC_BYTE) {
    if (!avro) return { ok: false, reason: 'MALFORMED', detail: 'Confluent-framed Avro (magic byte 0), which this reader does not accept' };
    const read = avro.read(value);
    if (!read.ok) return read;
    parsed = read.event;
  } else {
    try {
      parsed = JSON.parse(utf8.decode(value));
    } catch (error) {
      return { ok: false, reason: 'MALFORMED', detail: error instanceof SyntaxError ? `not JSON: ${error.message}` : 'not UTF-8 text' };
    }
  }
  let event: TransactionEvent;
  let time = plainlyValidTime(parsed);
  if (time !== undefined) event = parsed as TransactionEvent;
  else {
    const result = transactionEventSchema.safeParse(parsed);
    if (!result.success) return { ok: false, reason: 'SCHEMA_VIOLATION', detail: describeIssues(result.error) };
    event = result.data;
    time = Date.parse(event.timestamp);
  }
  if (key !== null) {
    const keyText = typeof key === 'string' ? key : key.toString('utf8');
    if (keyText !== event.customerId) return { ok: false, reason: 'KEY_MISMATCH', detail: `message key "${keyText.slice(0, 128)}" is not the customerId` };
  } else {
    return { ok: false, reason: 'KEY_MISMATCH', detail: 'message has no key; it must be the customerId' };
  }
  return { ok: true, tx: toTransaction(event, time) };
}

/** Serialises an event the way producers should (the feed uses it). */
export function encodeTransaction(event: TransactionEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}
