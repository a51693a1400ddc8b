import { countryDistanceKm } from './geo';
import {
  BAND_FLOORS,
  HIGH_RISK_MCC,
  HOUR_MS,
  MAX_KNOWN_COUNTRIES,
  MAX_KNOWN_DEVICES,
  MAX_KNOWN_MERCHANTS,
  MAX_RETAINED_EVENTS,
  MAX_SCORE,
  MINUTE_MS,
  RETAIN_MS,
  WATERMARK_MS,
  WEIGHTS,
} from './parameters';
import type { Assessment, Band, Channel, CustomerState, RiskFactor, Transaction } from './types';

/**
 * The scoring model: pure functions of (customer state, transaction). No clock, no I/O, no
 * randomness, so the same sequence of events always yields the same scores and the same state,
 * live or in a replay. docs/risk-model.md is the specification.
 */

/** Everything the score is computed from, before weights. */
export interface Features {
  /** Transactions in (t - 1 min, t] and (t - 1 h, t], this one included, and their EUR sums. */
  count1m: number;
  amount1m: number;
  count1h: number;
  amount1h: number;
  /** Small-amount transactions in (t - 10 min, t], this one included; 0 when this one is not small. */
  smallCount10m: number;
  /** Transactions counted before this one. */
  history: number;
  /** Running mean and (sample) standard deviation before this one; z-score of its amount (null below the minimum history). */
  mean: number;
  sd: number;
  z: number | null;
  newMerchant: boolean;
  newCountry: boolean;
  newDevice: boolean;
  /** Set when the country changed faster than plausible since the last card-present/ATM transaction. */
  impossibleTravel: { from: string; to: string; km: number; minutes: number } | null;
  /** Behind the customer's watermark (newest event time - 5 s): still counted, windows may be incomplete. */
  late: boolean;
  /** At least as new as everything seen: this score becomes the customer's latest. */
  newest: boolean;
}

const PHYSICAL: ReadonlySet<Channel> = new Set(['CARD_PRESENT', 'ATM']);
/** Channels whose deviceId is the customer's own phone or browser (card-present devices are terminals). */
const OWN_DEVICE: ReadonlySet<Channel> = new Set(['ECOMMERCE', 'TRANSFER']);

/** First index whose time is greater than `time` (times ascending). */
function upperBound(times: number[], time: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether `eventId` was counted before. 'unknown' means its time is older than anything the
 * state can still tell apart (it was dropped from the retained buffer): the caller must ask the
 * score history (the pipeline does, once per batch, only for such events).
 */
export function duplicateStatus(state: CustomerState, eventId: string, time: number): 'duplicate' | 'new' | 'unknown' {
  const { t, e } = state;
  for (let i = upperBound(t, time) - 1; i >= 0 && t[i] === time; i--) {
    if (e[i] === eventId) return 'duplicate';
  }
  return time <= state.floor ? 'unknown' : 'new';
}

export function extractFeatures(state: CustomerState, tx: Transaction): Features {
  const time = tx.time;
  const { t, a } = state;
  const from1m = time - MINUTE_MS;
  const from10m = time - WEIGHTS.CARD_TESTING.windowMs;
  const from1h = time - HOUR_MS;
  const small = tx.amountEur <= WEIGHTS.CARD_TESTING.smallEur;

  // This transaction, then the retained ones in (t - 1 h, t], newest first.
  let count1m = 1;
  let amount1m = tx.amountEur;
  let count1h = 1;
  let amount1h = tx.amountEur;
  let smallCount10m = small ? 1 : 0;
  for (let i = upperBound(t, time) - 1; i >= 0 && t[i] > from1h; i--) {
    const amount = a[i];
    count1h++;
    amount1h += amount;
    if (t[i] > from10m) {
      if (small && amount <= WEIGHTS.CARD_TESTING.smallEur) smallCount10m++;
      if (t[i] > from1m) {
        count1m++;
        amount1m += amount;
      }
    }
  }

  const history = state.n;
  const sd = history >= 2 ? Math.sqrt(state.m2 / (history - 1)) : 0;
  let z: number | null = null;
  if (history >= WEIGHTS.AMOUNT_ANOMALY.minHistory) {
    const effectiveSd = Math.max(sd, WEIGHTS.AMOUNT_ANOMALY.sdFloorShareOfMean * state.mean, WEIGHTS.AMOUNT_ANOMALY.sdFloorEur);
    z = (tx.amountEur - state.mean) / effectiveSd;
  }

  let impossibleTravel: Features['impossibleTravel'] = null;
  if (PHYSICAL.has(tx.channel) && state.lc !== '' && state.lc !== tx.country) {
    const km = countryDistanceKm(state.lc, tx.country);
    if (km !== undefined) {
      const hours = Math.abs(time - state.lt) / HOUR_MS;
      if (km - WEIGHTS.IMPOSSIBLE_TRAVEL.toleranceKm > WEIGHTS.IMPOSSIBLE_TRAVEL.maxKmPerHour * hours) {
        impossibleTravel = { from: state.lc, to: tx.country, km, minutes: Math.abs(time - state.lt) / MINUTE_MS };
      }
    }
  }

  return {
    count1m,
    amount1m,
    count1h,
    amount1h,
    smallCount10m,
    history,
    mean: state.mean,
    sd,
    z,
    newMerchant: history > 0 && !state.m.includes(tx.merchantId),
    newCountry: history > 0 && !state.c.includes(tx.country),
    newDevice: history > 0 && OWN_DEVICE.has(tx.channel) && !state.d.includes(tx.deviceId),
    impossibleTravel,
    late: history > 0 && time < state.last - WATERMARK_MS,
    newest: time >= state.last,
  };
}

const eur = (value: number) => `${value.toFixed(2)} EUR`;

/** Points for `excess` units over a threshold: rounded to the nearest integer (halves up), capped. */
function points(excess: number, perUnit: number, cap: number): number {
  return excess > 0 ? Math.min(cap, Math.round(excess * perUnit)) : 0;
}

export function bandOf(score: number): Band {
  if (score >= BAND_FLOORS.CRITICAL) return 'CRITICAL';
  if (score >= BAND_FLOORS.HIGH) return 'HIGH';
  if (score >= BAND_FLOORS.MEDIUM) return 'MEDIUM';
  return 'LOW';
}

export function scoreFeatures(features: Features, tx: Transaction): Assessment {
  // Straight-line on purpose: this runs for every event, and a detail string is only built
  // for a factor that fired.
  const W = WEIGHTS;
  const factors: RiskFactor[] = [];
  let points_: number;

  points_ = points(features.count1m - W.VELOCITY_1M_COUNT.free, W.VELOCITY_1M_COUNT.points, W.VELOCITY_1M_COUNT.cap);
  if (points_ > 0)
    factors.push({
      code: 'VELOCITY_1M_COUNT',
      contribution: points_,
      detail: `${features.count1m} transactions in the last minute (more than ${W.VELOCITY_1M_COUNT.free})`,
    });
  points_ = points(features.amount1m - W.VELOCITY_1M_AMOUNT.free, W.VELOCITY_1M_AMOUNT.points, W.VELOCITY_1M_AMOUNT.cap);
  if (points_ > 0)
    factors.push({
      code: 'VELOCITY_1M_AMOUNT',
      contribution: points_,
      detail: `${eur(features.amount1m)} in the last minute (more than ${eur(W.VELOCITY_1M_AMOUNT.free)})`,
    });
  points_ = points(features.count1h - W.VELOCITY_1H_COUNT.free, W.VELOCITY_1H_COUNT.points, W.VELOCITY_1H_COUNT.cap);
  if (points_ > 0)
    factors.push({
      code: 'VELOCITY_1H_COUNT',
      contribution: points_,
      detail: `${features.count1h} transactions in the last hour (more than ${W.VELOCITY_1H_COUNT.free})`,
    });
  points_ = points(features.amount1h - W.VELOCITY_1H_AMOUNT.free, W.VELOCITY_1H_AMOUNT.points, W.VELOCITY_1H_AMOUNT.cap);
  if (points_ > 0)
    factors.push({
      code: 'VELOCITY_1H_AMOUNT',
      contribution: points_,
      detail: `${eur(features.amount1h)} in the last hour (more than ${eur(W.VELOCITY_1H_AMOUNT.free)})`,
    });
  if (features.z !== null) {
    points_ = points(features.z - W.AMOUNT_ANOMALY.freeZ, W.AMOUNT_ANOMALY.points, W.AMOUNT_ANOMALY.cap);
    if (points_ > 0) {
      factors.push({
        code: 'AMOUNT_ANOMALY',
        contribution: points_,
        detail: `${eur(tx.amountEur)} is ${features.z.toFixed(1)} standard deviations above this customer's mean of ${eur(features.mean)}`,
      });
    }
  }
  if (features.newMerchant)
    factors.push({ code: 'NEW_MERCHANT', contribution: W.NEW_MERCHANT.points, detail: `first transaction at merchant ${tx.merchantId}` });
  if (features.newCountry) factors.push({ code: 'NEW_COUNTRY', contribution: W.NEW_COUNTRY.points, detail: `first transaction in ${tx.country}` });
  if (features.newDevice) factors.push({ code: 'NEW_DEVICE', contribution: W.NEW_DEVICE.points, detail: `first transaction from device ${tx.deviceId}` });
  const mcc = HIGH_RISK_MCC[tx.mcc];
  if (mcc) factors.push({ code: 'HIGH_RISK_MCC', contribution: mcc.points, detail: `merchant category ${tx.mcc} (${mcc.label})` });
  const travel = features.impossibleTravel;
  if (travel) {
    factors.push({
      code: 'IMPOSSIBLE_TRAVEL',
      contribution: W.IMPOSSIBLE_TRAVEL.points,
      detail: `${travel.from} to ${travel.to} (${Math.round(travel.km)} km) in ${travel.minutes.toFixed(1)} min`,
    });
  }
  points_ = points(features.smallCount10m - W.CARD_TESTING.free, W.CARD_TESTING.points, W.CARD_TESTING.cap);
  if (points_ > 0)
    factors.push({
      code: 'CARD_TESTING',
      contribution: points_,
      detail: `${features.smallCount10m} transactions of ${eur(W.CARD_TESTING.smallEur)} or less in 10 minutes`,
    });

  sortByContribution(factors);
  let total = 0;
  for (const factor of factors) total += factor.contribution;
  const score = Math.min(MAX_SCORE, total);
  return { score, band: bandOf(score), factors };
}

/** Largest first; ties by code, so the order never depends on how the list was built. */
function byContribution(x: RiskFactor, y: RiskFactor): number {
  return y.contribution - x.contribution || (x.code < y.code ? -1 : x.code > y.code ? 1 : 0);
}

/**
 * Sorts a score's few factors in place by insertion: Array.prototype.sort allocated a work array
 * for every score that had two factors or more (86 MB of the consumer's 2 GB allocated over 14 s of
 * the ingestion benchmark, a sampling heap profile), and every allocation brings the next
 * young-generation collection closer. The order is a total one (a code fires once), so any sort
 * gives the same list.
 */
function sortByContribution(factors: RiskFactor[]): void {
  for (let i = 1; i < factors.length; i++) {
    const factor = factors[i];
    let j = i - 1;
    while (j >= 0 && byContribution(factors[j], factor) > 0) {
      factors[j + 1] = factors[j];
      j--;
    }
    factors[j + 1] = factor;
  }
}

/**
 * Moves `value` to the end of a bounded least-recently-seen list. A value already there keeps
 * the string the list holds: the event's own copy dies young instead of outliving collections in
 * a state that lives for hours.
 */
function remember(list: string[], value: string, max: number): void {
  const at = list.indexOf(value);
  if (at === list.length - 1 && at >= 0) return;
  if (at >= 0) list.push(list.splice(at, 1)[0]);
  else {
    list.push(value);
    if (list.length > max) list.shift();
  }
}

/** Counts the transaction into the state (mutates it). */
export function updateState(state: CustomerState, tx: Transaction): void {
  const time = tx.time;
  const { t, a, e } = state;

  // Retained buffer, kept sorted by event time (a late event goes in its place).
  if (t.length === 0 || time >= t[t.length - 1]) {
    t.push(time);
    a.push(tx.amountEur);
    e.push(tx.eventId);
  } else {
    const at = upperBound(t, time);
    t.splice(at, 0, time);
    a.splice(at, 0, tx.amountEur);
    e.splice(at, 0, tx.eventId);
  }

  // Welford's online mean and variance.
  const n = state.n + 1;
  const delta = tx.amountEur - state.mean;
  state.mean += delta / n;
  state.m2 += delta * (tx.amountEur - state.mean);
  state.n = n;

  remember(state.m, tx.merchantId, MAX_KNOWN_MERCHANTS);
  remember(state.c, tx.country, MAX_KNOWN_COUNTRIES);
  if (OWN_DEVICE.has(tx.channel)) remember(state.d, tx.deviceId, MAX_KNOWN_DEVICES);
  if (PHYSICAL.has(tx.channel) && time >= state.lt) {
    state.lc = tx.country;
    state.lt = time;
  }
  if (time > state.last) state.last = time;

  // Forget what no window can reach any more (older than newest - 1 h - watermark), and bound the buffer.
  const cutoff = state.last - RETAIN_MS;
  let drop = 0;
  while (drop < t.length && (t[drop] < cutoff || t.length - drop > MAX_RETAINED_EVENTS)) drop++;
  if (drop > 0) {
    if (t[drop - 1] > state.floor) state.floor = t[drop - 1];
    t.splice(0, drop);
    a.splice(0, drop);
    e.splice(0, drop);
  }
}

export interface Scored extends Assessment {
  late: boolean;
  newest: boolean;
}

/** Scores the transaction against the state, then counts it in. The caller has ruled out duplicates. */
export function assess(state: CustomerState, tx: Transaction): Scored {
  const features = extractFeatures(state, tx);
  const { score, band, factors } = scoreFeatures(features, tx);
  updateState(state, tx);
  return { score, band, factors, late: features.late, newest: features.newest };
}
