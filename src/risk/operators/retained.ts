/**
 * The events a keyed operator keeps for its event-time windows: every distinct event of the key
 * newer than the key's newest event time minus the horizon, in (time, event id) order, with one
 * value each. Windows are read "as of" the newest event, so they depend only on the set of
 * distinct events and not on the order they arrived in: an event behind the newest is inserted
 * where it belongs, a redelivered event id changes nothing, and an event older than the horizon
 * cannot be in any window and is not kept. That is what makes a replay after a crash, or a batch
 * recomputation, land on the same figures. JSON-safe (numbers and strings only), so a state
 * restored from a checkpoint continues bit for bit.
 */
export interface Retained<V> {
  /** Newest event time seen (epoch ms), -1 before the first. */
  last: number;
  /** Events kept so far (the version of what the key's outputs show: it only grows). */
  n: number;
  t: number[];
  e: string[];
  v: V[];
}

export function newRetained<V>(): Retained<V> {
  return { last: -1, n: 0, t: [], e: [], v: [] };
}

/** Where (time, id) goes: after every retained event that sorts before it. */
function position(state: Retained<unknown>, time: number, id: string): number {
  const { t, e } = state;
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < time || (t[mid] === time && e[mid] < id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Adds an event; false when it changes nothing: a copy of a retained event (same id), or an
 * event at or before the newest minus `horizonMs`. At most `max` events are kept (the oldest
 * go first; windows saturate there, documented per product).
 */
export function retain<V>(state: Retained<V>, time: number, id: string, value: V, horizonMs: number, max: number): boolean {
  if (state.last >= 0 && time <= state.last - horizonMs) return false;
  if (state.e.includes(id)) return false;
  const at = position(state, time, id);
  state.t.splice(at, 0, time);
  state.e.splice(at, 0, id);
  state.v.splice(at, 0, value);
  state.n++;
  if (time > state.last) state.last = time;
  let drop = 0;
  const from = state.last - horizonMs;
  while (drop < state.t.length && state.t[drop] <= from) drop++;
  drop = Math.max(drop, state.t.length - max);
  if (drop > 0) {
    state.t.splice(0, drop);
    state.e.splice(0, drop);
    state.v.splice(0, drop);
  }
  return true;
}

/** Calls `visit` for every retained event in (last - windowMs, last], newest first. */
export function forWindow<V>(state: Retained<V>, windowMs: number, visit: (value: V) => void): void {
  const from = state.last - windowMs;
  for (let i = state.t.length - 1; i >= 0 && state.t[i] > from; i--) visit(state.v[i]);
}

/** Integer cents of an EUR amount: sums of cents are exact and do not depend on the order events arrived in. */
export const toCents = (eur: number): number => Math.round(eur * 100);

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
