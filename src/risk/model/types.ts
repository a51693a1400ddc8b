export const CHANNELS = ['CARD_PRESENT', 'ECOMMERCE', 'ATM', 'TRANSFER'] as const;
export type Channel = (typeof CHANNELS)[number];

export const BANDS = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Band = (typeof BANDS)[number];

/** A valid `transactions` event, as the model reads it (see contract.ts for the wire form). */
export interface Transaction {
  eventId: string;
  customerId: string;
  merchantId: string;
  mcc: string;
  /** The decimal string as received (kept exact for storage). */
  amount: string;
  currency: string;
  country: string;
  channel: Channel;
  deviceId: string;
  /** The timestamp as received. */
  timestamp: string;
  /** Event time, epoch milliseconds. */
  time: number;
  /** `amount` converted to EUR with the model's fixed reference rates. */
  amountEur: number;
}

export const FACTOR_CODES = [
  'VELOCITY_1M_COUNT',
  'VELOCITY_1M_AMOUNT',
  'VELOCITY_1H_COUNT',
  'VELOCITY_1H_AMOUNT',
  'AMOUNT_ANOMALY',
  'NEW_MERCHANT',
  'NEW_COUNTRY',
  'NEW_DEVICE',
  'HIGH_RISK_MCC',
  'IMPOSSIBLE_TRAVEL',
  'CARD_TESTING',
] as const;
export type FactorCode = (typeof FACTOR_CODES)[number];

/** One reason behind a score: its points and a sentence a person can check. */
export interface RiskFactor {
  code: FactorCode;
  contribution: number;
  detail: string;
}

/** What the model says about one transaction. */
export interface Assessment {
  score: number;
  band: Band;
  /** Every factor that contributed, largest first; they add up to the score unless it was capped at 1000. */
  factors: RiskFactor[];
}

/**
 * Per-customer operator state, checkpointed in a binary layout (src/risk/pipeline/state-codec.ts,
 * which lists these fields in order: a field added here goes there too, in a new layout version).
 * Numbers only (no NaN/Infinity) so that it also survives a JSON round trip bit for bit (tests and
 * chunks written before the layout); times are epoch milliseconds, -1 when unset.
 */
export interface CustomerState {
  /** Transactions counted (valid, not duplicates). */
  n: number;
  /** Welford running mean and sum of squared deviations of the EUR amounts. */
  mean: number;
  m2: number;
  /** Highest event time seen. */
  last: number;
  /** Highest event time ever dropped from the retained buffer (dedupe horizon). */
  floor: number;
  /** The retained events, oldest first: times, EUR amounts, event ids. */
  t: number[];
  a: number[];
  e: string[];
  /** Known merchants, countries and devices, least recently seen first. */
  m: string[];
  c: string[];
  d: string[];
  /** Country and time of the latest card-present or ATM transaction ('' / -1 when none). */
  lc: string;
  lt: number;
}

export function newCustomerState(): CustomerState {
  return { n: 0, mean: 0, m2: 0, last: -1, floor: -1, t: [], a: [], e: [], m: [], c: [], d: [], lc: '', lt: -1 };
}
