const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export const formatInt = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : integer.format(value));
export const formatDecimal = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : decimal.format(value));
export const formatCompact = (value: number): string => compact.format(value);
export const formatPercent = (share: number | null | undefined, digits = 1): string =>
  share === null || share === undefined ? '—' : `${(share * 100).toFixed(digits)} %`;

export function formatMoney(cents: number, currency = 'usd'): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase(), maximumFractionDigits: cents % 100 === 0 ? 0 : 2 }).format(
    cents / 100,
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayOnly = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });

export const formatDateTime = (iso: string | null | undefined): string => (iso ? dateTime.format(new Date(iso)) : '—');
export const formatTime = (iso: string): string => timeOnly.format(new Date(iso));
/** A UTC day, as the usage buckets are. */
export const formatDay = (iso: string): string => dayOnly.format(new Date(iso));

/** "in 3 h 12 min", "in 40 s", "2 min ago". */
export function formatRelative(target: Date, now = Date.now()): string {
  const seconds = Math.round((target.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  let text: string;
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400) {
    // Rounded to the minute first, so 12 h 59 min 40 s reads "13 h", never "12 h 60 min".
    const minutes = Math.round(abs / 60);
    text = minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes / 60} h`;
  } else text = `${Math.round(abs / 86400)} d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** "2026-11-26 00:00 UTC (in 5 h 3 min)". */
export function formatReset(at: Date): string {
  return `${at.toISOString().replace('T', ' ').slice(0, 16)} UTC (${formatRelative(at)})`;
}
