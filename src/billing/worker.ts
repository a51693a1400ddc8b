import type { Services } from '../services';
import { MeterSync } from './meter-sync';

export function meterSyncFor({ db, stripe, config, logger }: Services): MeterSync | undefined {
  if (!stripe) return undefined;
  return new MeterSync(
    db.prisma,
    stripe,
    {
      eventName: config.STRIPE_METER_EVENT_NAME,
      eventsPerSecond: config.STRIPE_METER_EVENTS_PER_SECOND,
      leaseMs: 60_000,
      backoffBaseMs: 1000,
      backoffMaxMs: 5 * 60_000,
    },
    logger.child({ component: 'billing-sync' }),
  );
}

/**
 * Runs the billing sync every BILLING_SYNC_INTERVAL_MS, one pass at a time; several workers
 * (gateways, `tollgraph worker billing`) can run at once: they claim disjoint reports.
 * Returns the function that stops it after the pass in progress.
 */
export function startBillingWorker(services: Services): (() => Promise<void>) | undefined {
  const sync = meterSyncFor(services);
  if (!sync) return undefined;
  const log = services.logger.child({ component: 'billing-sync' });
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      sync.runOnce().then(
        ({ assigned, sent, failed }) => (assigned || sent || failed) && log.info({ assigned, sent, failed }, 'billing sync pass'),
        (error) => log.warn({ err: error }, 'billing sync pass failed; will retry'),
      ),
    );
  }, services.config.BILLING_SYNC_INTERVAL_MS);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
