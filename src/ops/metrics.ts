import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * One registry per gateway instance (not prom-client's global one), so several instances in one
 * process (tests, benchmarks) do not fight over metric names. Domains register their own metrics
 * on `registry`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'tollgraph_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const graphqlDuration = new Histogram({
    name: 'tollgraph_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration from parse to response, by root field ("multiple" for several), type and outcome',
    labelNames: ['operation', 'type', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, httpDuration, graphqlDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;
