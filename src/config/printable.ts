import type { Config } from './schema';

/** Variables whose whole value is a secret. */
export const SECRET_NAME = /SECRET|PASSWORD|TOKEN/;

/** A URL's password, if it has one, replaced with `***` (user, host and path kept, to check where it points). */
export function withoutPassword(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}

/**
 * The configuration as it may be printed (`tollgraph config check --json`, logs): secret
 * variables as `[set]`, and a password inside any URL-valued variable (`DATABASE_URL`,
 * `REDIS_URL`, ...) masked.
 */
export function printableConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([name, value]) => {
      if (SECRET_NAME.test(name) && value) return [name, '[set]'];
      if (typeof value === 'string') return [name, withoutPassword(value)];
      if (Array.isArray(value)) return [name, value.map((item: unknown) => (typeof item === 'string' ? withoutPassword(item) : item))];
      return [name, value];
    }),
  );
}
