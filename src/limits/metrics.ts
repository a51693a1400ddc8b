import { Gauge, type Registry } from 'prom-client';
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
