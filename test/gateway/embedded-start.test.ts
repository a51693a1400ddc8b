import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { graphql, runBuilt, startGatewayProcess, waitFor } from '../support/process';
import { tempDir } from '../support/temp-dirs';

/** What a newcomer gets from `npm ci && npm start`: no services, data under DATA_DIR. */
describe('embedded start', () => {
  const dataDir = tempDir('tg-embedded-');

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

      // The demo keys: written once with mode 0600, printed, and working at once.
      const file = join(dataDir, 'demo-keys.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const demo = JSON.parse(readFileSync(file, 'utf8'));
      expect(demo).toEqual({ adminKey: expect.stringMatching(/^tg_test_/), subscriberKey: expect.stringMatching(/^tg_test_/) });
      // Output that is not a terminal (a file, a log collector) gets where the keys are, never the keys.
      expect(gateway.output()).not.toContain(demo.subscriberKey);
      expect(gateway.output()).not.toContain(demo.adminKey);
      expect(gateway.output()).toContain(`${join(dataDir, 'demo-keys.json')} (not printed: this output is not a terminal)`);
      const me = await graphql(gateway.url, '{ me { account { name } plan { code } key { role } } }', {
        headers: { authorization: `Bearer ${demo.subscriberKey}` },
      });
      expect(me.body.data.me).toEqual({ account: { name: 'Demo Subscriber' }, plan: { code: 'PROFESSIONAL' }, key: { role: 'SUBSCRIBER' } });
      const admin = await graphql(gateway.url, '{ accounts { nodes { name } } }', { headers: { 'x-api-key': demo.adminKey } });
      expect(admin.body.data.accounts.nodes.map((a: { name: string }) => a.name)).toEqual(['Tollgraph Admin', 'Demo Subscriber']);

      // The README's first query returns every band within seconds (the demo feed's showcase).
      const bands = async () =>
        new Set(
          (
            (await graphql(gateway.url, '{ topRisks(minBand: MEDIUM) { band } }', { headers: { authorization: `Bearer ${demo.subscriberKey}` } })).body.data
              ?.topRisks ?? []
          ).map((risk: { band: string }) => risk.band),
        );
      await waitFor('MEDIUM, HIGH and CRITICAL customers', async () => (await bands()).size === 3, 20_000, 250);

      // Their histories, two root fields read in one statement, on the embedded database too.
      const subscriber = { authorization: `Bearer ${demo.subscriberKey}` };
      const top = (await graphql(gateway.url, '{ topRisks(minBand: MEDIUM, first: 2) { customerId } }', { headers: subscriber })).body.data.topRisks;
      const [a, b] = top.map((risk: { customerId: string }) => risk.customerId);
      const histories = await graphql(
        gateway.url,
        'query($a: ID!, $b: ID!) { a: riskHistory(customerId: $a, first: 1) { nodes { customerId } } b: riskHistory(customerId: $b, first: 1) { nodes { customerId } } }',
        { headers: subscriber, variables: { a, b } },
      );
      expect(histories.body.errors).toBeUndefined();
      expect(histories.body.data).toEqual({ a: { nodes: [{ customerId: a }] }, b: { nodes: [{ customerId: b }] } });
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it('keeps its data across restarts and does not seed twice', async () => {
    const { adminKey } = JSON.parse(readFileSync(join(dataDir, 'demo-keys.json'), 'utf8'));
    const snapshot = async () => {
      const gateway = await startGatewayProcess({ DATA_DIR: dataDir });
      try {
        const { body } = await graphql(gateway.url, '{ plans { code dailyQuota } accounts { nodes { id name } } }', {
          headers: { authorization: `Bearer ${adminKey}` },
        });
        return body.data;
      } finally {
        await gateway.stop();
      }
    };
    const first = await snapshot();
    const second = await snapshot();
    expect(first.plans.map((plan: { code: string }) => plan.code)).toEqual(['FREE', 'PROFESSIONAL', 'ENTERPRISE']);
    expect(first.accounts.nodes).toHaveLength(2);
    expect(second).toEqual(first);
  });

  it('stops on SIGTERM within seconds with exit code 0, on a first and a later start, as `npm start` runs it', async () => {
    const fresh = tempDir('tg-embedded-');
    // Not NODE_ENV=test (which jest sets): Apollo Server installs its own signal handlers outside it.
    for (const start of ['first', 'second']) {
      const gateway = await startGatewayProcess({ DATA_DIR: fresh, NODE_ENV: 'development' });
      await graphql(gateway.url, '{ health { status } }');
      const began = Date.now();
      expect({ start, exit: await gateway.stop('SIGTERM') }).toEqual({ start, exit: 0 });
      expect(Date.now() - began).toBeLessThan(5000);
      expect(gateway.output()).toContain('stopped cleanly');
    }
  });

  it('keeps what each account used today across a restart and a kill -9 (limits in memory start from the ledger)', async () => {
    const fresh = tempDir('tg-embedded-');
    let gateway = await startGatewayProcess({ DATA_DIR: fresh });
    const { subscriberKey } = JSON.parse(readFileSync(join(fresh, 'demo-keys.json'), 'utf8'));
    const headers = { authorization: `Bearer ${subscriberKey}` };
    const used = async () => (await graphql(gateway.url, '{ rateLimit { used } }', { headers })).body.data.rateLimit.used as number;
    try {
      const { id } = (await graphql(gateway.url, '{ me { account { id } } }', { headers })).body.data.me.account;
      for (let i = 0; i < 3; i++)
        expect((await graphql(gateway.url, 'query($a: ID!) { account(id: $a) { id } }', { headers, variables: { a: id } })).status).toBe(200);
      const before = await used();
      expect(before).toBe(3);
      await gateway.stop('SIGKILL');
      gateway = await startGatewayProcess({ DATA_DIR: fresh });
      expect(await used()).toBe(before);
      await gateway.stop('SIGTERM');
      gateway = await startGatewayProcess({ DATA_DIR: fresh });
      expect(await used()).toBe(before);
    } finally {
      await gateway.stop();
    }
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
