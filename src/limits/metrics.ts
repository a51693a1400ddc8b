import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReservationPath } from './lease-book';
import type { LimitService } from './service';

/** `tollgraph_limits_degraded`: 1 while Redis is configured but unreachable. */
export function registerLimitMetrics(registry: Registry, limits: LimitService): void {
  new Gauge({
    name: 'tollgraph_limits_degraded',
    help: '1 while Redis is configured but unreachable and limits follow LIMITS_REDIS_DOWN_POLICY',
    registers: [registry],
    collect() {
      this.set(limits.degraded() ? 1 : 0);
    },
  });
}

/** `tollgraph_limits_reservations_total{path}`: reservations admitted from a lease here, and those that took a Redis round trip. */
export function reservationCounter(registry: Registry): (path: ReservationPath) => void {
  const counter = new Counter({
    name: 'tollgraph_limits_reservations_total',
    help: 'Limit reservations by path: "lease" (admitted from this process\'s lease, no round trip) or "redis" (a round trip: a new lease, a refusal, a live-feed draw)',
    labelNames: ['path'],
    registers: [registry],
  });
  return (path) => counter.inc({ path });
}
