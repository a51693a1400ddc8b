/** The UTC day a request counts against, and when that day's quota resets. */
export function utcDay(now = new Date()): { day: string; resetAt: Date } {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { day: new Date(start).toISOString().slice(0, 10), resetAt: new Date(start + 86_400_000) };
}

/** Daily counters live two days: long enough to be read all day, short enough to clean up. */
export const DAILY_KEY_TTL_SEC = 2 * 86_400;
export const BURST_WINDOW_SEC = 1;
