import Stripe from 'stripe';
import type { Config } from '../config/schema';

export type { Stripe };

/**
 * The Stripe client, or undefined when billing is off (no STRIPE_SECRET_KEY). STRIPE_API_BASE
 * sends every call elsewhere (stripe-mock, or a recording fake in tests). Retries are ours
 * (the sync worker's backoff), not the library's, so each attempt is visible and counted.
 */
export function createStripe(config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_BASE'>, timeoutMs = 10_000): Stripe | undefined {
  if (!config.STRIPE_SECRET_KEY) return undefined;
  const base = config.STRIPE_API_BASE ? new URL(config.STRIPE_API_BASE) : undefined;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    maxNetworkRetries: 0,
    timeout: timeoutMs,
    telemetry: false,
    ...(base
      ? {
          protocol: base.protocol === 'https:' ? ('https' as const) : ('http' as const),
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
        }
      : {}),
  });
}
