import { Router } from 'express';
import { checkReadiness, type DependencyCheck } from '../ops/readiness';
import type { Metrics } from '../ops/metrics';

interface OpsRoutesOptions {
  checks: DependencyCheck[];
  timeoutMs: number;
  metrics: Metrics;
  isDraining(): boolean;
}

/** Probes for orchestrators and Prometheus; no API key, no GraphQL, no billing. */
export function opsRoutes({ checks, timeoutMs, metrics, isDraining }: OpsRoutesOptions): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (isDraining()) {
      res.status(503).json({ ready: false, reason: 'shutting down', dependencies: {}, failed: [], degraded: [] });
      return;
    }
    const readiness = await checkReadiness(checks, timeoutMs);
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
