import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReservationPath } from './lease-book';
import type { AdmissionMetrics } from './overload';
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

/** `tollgraph_overload_shed_total{priority}` and `tollgraph_overload_pressure`: plan-aware shedding (src/limits/overload.ts). */
export function overloadMetrics(registry: Registry, pressure: () => number): AdmissionMetrics {
  const shed = new Counter({
    name: 'tollgraph_overload_shed_total',
    help: 'Requests and live feeds refused with OVERLOADED, by priority (ANONYMOUS, FREE, PROFESSIONAL)',
    labelNames: ['priority'],
    registers: [registry],
  });
  new Gauge({
    name: 'tollgraph_overload_pressure',
    help: 'How saturated this gateway process is (1 = OVERLOAD_MAX_IN_FLIGHT or OVERLOAD_MAX_EVENT_LOOP_DELAY_MS reached); tiers are shed from 0.5',
    registers: [registry],
    collect() {
      this.set(pressure());
    },
  });
  return { shed: (priority) => shed.inc({ priority }) };
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
