/**
 * The scoring model's parameters: every threshold, weight and reference table, in one place.
 * docs/risk-model.md explains each one and works an example through them; changing any value
 * here changes scores, so it must come with a new MODEL_VERSION (and a replay, if the history
 * should follow).
 */
export const MODEL_VERSION = 'risk-v1';

/** Bounded out-of-orderness: an event may arrive this much behind the newest one without being late. */
export const WATERMARK_MS = 5_000;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Retained event buffer: one hour of event time behind the newest event, plus the watermark. */
export const RETAIN_MS = HOUR_MS + WATERMARK_MS;
/** ...but never more than this many events per customer (velocity counts saturate there). */
export const MAX_RETAINED_EVENTS = 500;

/** Known merchants, countries and devices remembered per customer (least recently seen forgotten first). */
export const MAX_KNOWN_MERCHANTS = 50;
export const MAX_KNOWN_COUNTRIES = 20;
export const MAX_KNOWN_DEVICES = 20;

export const WEIGHTS = {
  /** Transactions in the last minute beyond `free`, `points` each, at most `cap`. */
  VELOCITY_1M_COUNT: { free: 3, points: 40, cap: 200 },
  /** EUR spent in the last minute beyond `free`, `points` per EUR, at most `cap`. */
  VELOCITY_1M_AMOUNT: { free: 1_000, points: 0.05, cap: 150 },
  VELOCITY_1H_COUNT: { free: 10, points: 10, cap: 150 },
  VELOCITY_1H_AMOUNT: { free: 3_000, points: 0.02, cap: 150 },
  /** z-score of the amount against the customer's running mean and standard deviation. */
  AMOUNT_ANOMALY: { minHistory: 5, freeZ: 3, points: 50, cap: 250, sdFloorShareOfMean: 0.1, sdFloorEur: 1 },
  /** Only once the customer has at least one earlier transaction. */
  NEW_MERCHANT: { points: 30 },
  NEW_COUNTRY: { points: 100 },
  NEW_DEVICE: { points: 100 },
  /** Country change between two card-present/ATM transactions faster than an airliner. */
  IMPOSSIBLE_TRAVEL: { points: 300, maxKmPerHour: 900, toleranceKm: 500 },
  /** Small amounts (at most `smallEur`) in the last `windowMs`, beyond `free`, `points` each. */
  CARD_TESTING: { smallEur: 5, windowMs: 10 * MINUTE_MS, free: 2, points: 60, cap: 300 },
} as const;

/** High-risk merchant category codes (ISO 18245) and their points. */
export const HIGH_RISK_MCC: Readonly<Record<string, { points: number; label: string }>> = {
  '4829': { points: 100, label: 'money transfer' },
  '5967': { points: 80, label: 'direct marketing, inbound teleservices' },
  '6051': { points: 120, label: 'quasi-cash, crypto' },
  '6211': { points: 60, label: 'securities brokers' },
  '6538': { points: 100, label: 'card-funded transfer' },
  '6540': { points: 100, label: 'stored-value card load' },
  '7273': { points: 60, label: 'dating services' },
  '7995': { points: 120, label: 'gambling' },
};

/**
 * Reference rates to EUR, fixed per model version so scores never depend on when they were
 * computed. A currency not listed is taken at face value.
 */
export const EUR_PER_UNIT: Readonly<Record<string, number>> = {
  EUR: 1,
  USD: 0.92,
  GBP: 1.17,
  CHF: 1.05,
  JPY: 0.0062,
  CAD: 0.68,
  AUD: 0.61,
  SEK: 0.088,
  NOK: 0.086,
  DKK: 0.134,
  PLN: 0.23,
  CZK: 0.04,
  HUF: 0.0025,
  BRL: 0.17,
  MXN: 0.05,
  INR: 0.011,
  CNY: 0.13,
  SGD: 0.69,
  HKD: 0.12,
  ZAR: 0.05,
  TRY: 0.027,
  NGN: 0.0006,
  AED: 0.25,
};

/** Score bands: the lowest score of each band. */
export const BAND_FLOORS = { LOW: 0, MEDIUM: 250, HIGH: 500, CRITICAL: 750 } as const;
export const MAX_SCORE = 1000;
