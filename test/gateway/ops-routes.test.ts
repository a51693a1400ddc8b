import type { AddressInfo } from 'node:net';
import express from 'express';
import { createMetrics } from '../../src/ops/metrics';
import { opsRoutes } from '../../src/gateway/ops-routes';
import { configProblems } from '../support/config';

/** The ops routes alone in an express app on a free port, with a readiness check that counts its calls. */
async function opsApp(options: { readinessCacheMs?: number; metricsToken?: string; failing?: boolean; draining?: boolean; clock?: () => number } = {}) {
  let checks = 0;
  const metrics = createMetrics();
  const serialisations = jest.spyOn(metrics.registry, 'metrics');
  const app = express();
  app.use(
    opsRoutes({
      checks: [
        {
          name: 'postgres',
          check: async () => {
            checks++;
            await new Promise((resolve) => setTimeout(resolve, 50));
            if (options.failing) throw new Error('connection refused');
          },
        },
      ],
      timeoutMs: 1000,
      readinessCacheMs: options.readinessCacheMs ?? 1000,
      metrics,
      metricsToken: options.metricsToken,
      isDraining: () => options.draining ?? false,
      clock: options.clock,
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, checks: () => checks, serialisations, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('ops routes: what anyone may ask costs almost nothing', () => {
  it('answers a flood of /readyz probes with one dependency check, then checks again once the answer is older than READINESS_CACHE_MS', async () => {
    // The answer's age on a clock the test moves: however slowly a busy machine serves the flood.
    let now = 0;
    const app = await opsApp({ readinessCacheMs: 300, clock: () => now });
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${app.url}/readyz`)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
      expect(app.checks()).toBe(1);
      now = 299;
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      expect(app.checks()).toBe(1);
      now = 300;
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      expect(app.checks()).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('shares a failed check the same way, and checks on every probe with READINESS_CACHE_MS=0', async () => {
    const failing = await opsApp({ failing: true, clock: () => 0 });
    const uncached = await opsApp({ readinessCacheMs: 0 });
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${failing.url}/readyz`)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(503));
      expect(await answers[0].json()).toMatchObject({ ready: false, failed: ['postgres'] });
      expect(failing.checks()).toBe(1);
      for (let i = 0; i < 3; i++) await fetch(`${uncached.url}/readyz`);
      expect(uncached.checks()).toBe(3);
    } finally {
      await failing.close();
      await uncached.close();
    }
  });

  it('answers 503 while draining without asking the dependencies', async () => {
    const app = await opsApp({ draining: true });
    try {
      const answer = await fetch(`${app.url}/readyz`);
      expect(answer.status).toBe(503);
      expect(await answer.json()).toMatchObject({ ready: false, reason: 'shutting down' });
      expect(app.checks()).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('with METRICS_TOKEN, refuses /metrics without its bearer token before serialising anything', async () => {
    const token = 'metrics-token-0123456789';
    const app = await opsApp({ metricsToken: token });
    try {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`, `Bearer ${token}x`]) {
        const answer = await fetch(`${app.url}/metrics`, { headers: authorization ? { authorization } : {} });
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
        expect(await answer.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
      }
      expect(app.serialisations).not.toHaveBeenCalled();
      const answer = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('process_cpu_seconds_total');
      expect(app.serialisations).toHaveBeenCalledTimes(1);
    } finally {
      await app.close();
    }
  });

  it('leaves /metrics open without METRICS_TOKEN, and refuses a token too short to be one', async () => {
    const app = await opsApp();
    try {
      expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
    } finally {
      await app.close();
    }
    expect(configProblems({ METRICS_TOKEN: 'short' })).toEqual([expect.stringMatching(/^METRICS_TOKEN: expected a bearer token of at least 16 characters/)]);
  });
});
