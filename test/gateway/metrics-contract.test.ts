import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGatewayProcess } from '../support/process';
import { startTestGateway } from '../support/harness';
import { Registry } from 'prom-client';
import { archiveMetrics } from '../../src/archive/segment-writer';
import { operatorMetrics } from '../../src/risk/pipeline/operator-metrics';
import { tempDir } from '../support/temp-dirs';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
/** `tollgraph_…` names in the README that are not metrics (Stripe meter event names: the plans' and a product's `tollgraph_product_<slug>`). */
const NOT_METRICS = new Set(['tollgraph_cost_units', 'tollgraph_product_']);

const exposed = async (url: string) =>
  new Set([...(await (await fetch(`${url}/metrics`)).text()).matchAll(/^# HELP (tollgraph_\w+)/gm)].map((match) => match[1]));

/** The metrics of the worker roles the gateway does not run: the archiver and the data-product operators. */
async function workerMetrics(): Promise<string[]> {
  const registry = new Registry();
  archiveMetrics(registry);
  operatorMetrics(registry);
  return (await registry.getMetricsAsJSON()).map((metric) => metric.name);
}

/** The metrics the README names are the ones the gateway (and the worker roles) expose, and the other way round. */
describe('the /metrics contract', () => {
  it('exposes every metric the README names, and names every metric it exposes', async () => {
    // Both deployments: with Redis (quota leases) and embedded (the in-process feed's pipeline
    // metrics), the latter with the usage spool (its backlog gauge).
    const withRedis = await startTestGateway();
    const embedded = await startGatewayProcess({ DATA_DIR: tempDir('tg-metrics-'), METERING_SPOOL_DIR: tempDir('tg-metrics-spool-') });
    try {
      const names = new Set([...(await exposed(withRedis.url)), ...(await exposed(embedded.url)), ...(await workerMetrics())]);
      const documented = new Set([...README.matchAll(/\b(tollgraph_[a-z_]+)/g)].map((match) => match[1]).filter((name) => !NOT_METRICS.has(name)));
      expect([...documented].filter((name) => !names.has(name)).sort()).toEqual([]);
      expect([...names].filter((name) => !documented.has(name)).sort()).toEqual([]);
    } finally {
      await embedded.stop();
      await withRedis.stop();
    }
  });

  it("labels operation timings by root field, never by the client's operation name (a new name per request must not grow the series)", async () => {
    const gateway = await startTestGateway();
    try {
      for (let i = 0; i < 50; i++) await gateway.query(`query r${i}x${Date.now()} { health { status } }`);
      await gateway.query('query Two { health { status } plans { code } }');
      await gateway.query('{ nosuchfield }');
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const labels = new Set([...text.matchAll(/^tollgraph_graphql_operation_duration_seconds_count\{operation="([^"]*)"/gm)].map((match) => match[1]));
      expect([...labels].sort()).toEqual(['health', 'multiple', 'none']);
    } finally {
      await gateway.stop();
    }
  });

  it('labels request timings by the path received: GraphQL under /graphql, a registry path ending in /graphql under the registry', async () => {
    const gateway = await startTestGateway();
    try {
      await gateway.query('{ health { status } }');
      await fetch(`${gateway.url}/registry/graphql`);
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const routes = [...text.matchAll(/^tollgraph_http_request_duration_seconds_count\{method="(\w+)",route="([^"]*)"/gm)].map(
        (match) => `${match[1]} ${match[2]}`,
      );
      expect(routes).toContain('POST /graphql');
      expect(routes).not.toContain('GET /graphql');
    } finally {
      await gateway.stop();
    }
  });
});
