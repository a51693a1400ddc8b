import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
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

/**
 * Plan-aware shedding (src/limits/overload.ts): `tollgraph_overload_shed_total{priority}`,
 * `tollgraph_overload_pressure`, `tollgraph_overload_in_flight`, `tollgraph_overload_queued` and
 * `tollgraph_overload_queue_seconds{priority}`.
 */
export function overloadMetrics(
  registry: Registry,
  admission: { pressure(): number; readonly requestsInFlight: number; readonly requestsQueued: number },
): AdmissionMetrics {
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
      this.set(admission.pressure());
    },
  });
  new Gauge({
    name: 'tollgraph_overload_in_flight',
    help: 'Requests admitted and not yet answered (running or waiting), against OVERLOAD_MAX_IN_FLIGHT',
    registers: [registry],
    collect() {
      this.set(admission.requestsInFlight);
    },
  });
  new Gauge({
    name: 'tollgraph_overload_queued',
    help: 'Requests waiting for their turn under OVERLOAD_CONCURRENCY',
    registers: [registry],
    collect() {
      this.set(admission.requestsQueued);
    },
  });
  const waited = new Histogram({
    name: 'tollgraph_overload_queue_seconds',
    help: 'How long requests waited for a running one to finish (OVERLOAD_CONCURRENCY), by priority, whether they then ran or were shed',
    labelNames: ['priority'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  return { shed: (priority) => shed.inc({ priority }), waited: (priority, seconds) => waited.observe({ priority }, seconds) };
}

/** `tollgraph_edge_reserved_slots`: the edge's slots of this process kept for ENTERPRISE now (EDGE_ENTERPRISE_RESERVE while it is active, else 0). */
export function edgeMetrics(registry: Registry, edge: { readonly reservedSlots: number }): void {
  new Gauge({
    name: 'tollgraph_edge_reserved_slots',
    help: 'Slots of this process at the edge kept for ENTERPRISE now: EDGE_ENTERPRISE_RESERVE while an ENTERPRISE key was served within EDGE_RESERVE_IDLE_MS, else 0',
    registers: [registry],
    collect() {
      this.set(edge.reservedSlots);
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
