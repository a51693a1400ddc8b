import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphql, startGatewayProcess } from '../support/process';
import { tempDir } from '../support/temp-dirs';

/** The gateway under NODE_ENV=production, as `npm start` runs it (embedded, so no services are needed). */
describe('NODE_ENV=production', () => {
  const start = (env: Record<string, string> = {}) => startGatewayProcess({ DATA_DIR: tempDir('tg-production-'), NODE_ENV: 'production', ...env });

  it('issues live keys, answers introspection (the schema is public), and sends no stack trace with any error', async () => {
    const gateway = await start();
    try {
      const demo = JSON.parse(readFileSync(join(gateway.output().match(/in (\S+demo-keys\.json)/)![1]), 'utf8'));
      expect(demo.subscriberKey).toMatch(/^tg_live_[0-9A-Za-z]{32}$/);
      expect((await graphql(gateway.url, '{ __schema { queryType { name } } }')).body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const headers = { authorization: `Bearer ${demo.subscriberKey}` };
      for (const query of [
        '{ nope }',
        '{ health { status ',
        '{ riskHistory(customerId: "c-1", after: "nonsense") { nodes { eventId } } }',
        '{ accounts { nodes { id } } }',
      ]) {
        const { body } = await graphql(gateway.url, query, { headers });
        expect(body.errors?.length).toBeGreaterThan(0);
        expect(JSON.stringify(body)).not.toMatch(/stacktrace|\bat [\w.<>]+ \(|node_modules|\/src\//);
      }
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });

  it('refuses introspection when GRAPHQL_INTROSPECTION=false', async () => {
    const gateway = await start({ GRAPHQL_INTROSPECTION: 'false' });
    try {
      const { body } = await graphql(gateway.url, '{ __schema { queryType { name } } }');
      expect(body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await graphql(gateway.url, '{ health { status } }')).body.data).toEqual({ health: { status: 'ok' } });
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });
});
