import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import { sendError, TollgraphError } from '../errors';
import type { Metrics } from '../ops/metrics';
import { sharedReadiness, type DependencyCheck } from '../ops/readiness';

interface OpsRoutesOptions {
  checks: DependencyCheck[];
  timeoutMs: number;
  /** How long one readiness answer serves every probe (READINESS_CACHE_MS). */
  readinessCacheMs: number;
  metrics: Metrics;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>` (METRICS_TOKEN). */
  metricsToken?: string;
  isDraining(): boolean;
  /** Milliseconds, for the readiness answer's age (tests drive it). */
  clock?: () => number;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether the request carries the bearer token, compared in constant time whatever its length. */
function bearerMatches(req: Request, expected: Buffer): boolean {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') && timingSafeEqual(digest(header.slice('Bearer '.length)), expected);
}

/**
 * Probes for orchestrators and Prometheus; no API key, no GraphQL, no billing. Anyone can reach
 * them, so each costs almost nothing: readiness is shared between probes, and the metrics (a
 * serialisation of every series) answer only their token when one is configured.
 */
export function opsRoutes({ checks, timeoutMs, readinessCacheMs, metrics, metricsToken, isDraining, clock }: OpsRoutesOptions): Router {
  const router = Router();
  const readiness = sharedReadiness(checks, timeoutMs, readinessCacheMs, clock);
  const token = metricsToken === undefined ? undefined : digest(metricsToken);
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (isDraining()) {
      res.status(503).json({ ready: false, reason: 'shutting down', dependencies: {}, failed: [], degraded: [] });
      return;
    }
    const answer = await readiness();
    res.status(answer.ready ? 200 : 503).json(answer);
  });
  router.get('/metrics', async (req, res) => {
    if (token && !bearerMatches(req, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      sendError(res, new TollgraphError('UNAUTHENTICATED', 'The metrics need the bearer token METRICS_TOKEN names.'));
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
