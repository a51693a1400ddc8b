import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphql, runBuilt, startGatewayProcess } from '../support/process';

/** What a newcomer gets from `npm ci && npm start`: no services, data under DATA_DIR. */
describe('embedded start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-embedded-'));

  it('answers health over GraphQL and /healthz with no service configured, and prints how to query it', async () => {
    const gateway = await startGatewayProcess({ DATA_DIR: dataDir });
    try {
      const { status, body } = await graphql(gateway.url, '{ health { status version uptimeSeconds } }');
      expect(status).toBe(200);
      expect(body.data.health).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/), uptimeSeconds: expect.any(Number) });
      expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${gateway.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { dependencies: unknown }).dependencies).toEqual({ 'embedded-postgres': expect.objectContaining({ ok: true }) });
      expect(gateway.output()).toContain(`curl -s ${gateway.url}/graphql`);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it('keeps its data across restarts and does not seed twice', async () => {
    const plansOf = async () => {
      const gateway = await startGatewayProcess({ DATA_DIR: dataDir });
      try {
        return (await graphql(gateway.url, '{ plans { code dailyQuota } }')).body.data.plans;
      } finally {
        await gateway.stop();
      }
    };
    const first = await plansOf();
    const second = await plansOf();
    expect(first.map((plan: { code: string }) => plan.code)).toEqual(['FREE', 'PROFESSIONAL', 'ENTERPRISE']);
    expect(second).toEqual(first);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT: expected a TCP port number/],
    [{ REDIS_URL: 'nope' }, /REDIS_URL: expected a URL like redis:\/\//],
  ])('refuses to start with bad config %j, naming the variable', async (env, message) => {
    const run = runBuilt('dist/main.js', { DATA_DIR: dataDir, ...env });
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(message);
  });
});
