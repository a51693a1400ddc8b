export interface UtcDay {
  day: string;
  /** When the day began (ms since the epoch). */
  start: number;
  resetAt: Date;
}

let current: UtcDay | undefined;

/** The UTC day a request counts against, and when that day's quota resets (computed once a day). */
export function utcDay(now = Date.now()): UtcDay {
  if (current && now >= current.start && now < current.resetAt.getTime()) return current;
  const date = new Date(now);
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  current = { start, day: new Date(start).toISOString().slice(0, 10), resetAt: new Date(start + 86_400_000) };
  return current;
}

/** Daily counters live two days: long enough to be read all day, short enough to clean up. */
export const DAILY_KEY_TTL_SEC = 2 * 86_400;
export const BURST_WINDOW_SEC = 1;
