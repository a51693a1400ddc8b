import { Client } from 'pg';
import { startTestGateway, type TestGateway } from '../support/harness';
import { privateService, type PrivateService } from '../support/private-service';
import { startGatewayProcess, waitFor, type RunningProcess } from '../support/process';

const OWN_ACCOUNT = 'query($a: ID!) { account(id: $a) { id } }'; // metered: one ledger record each

/**
 * PostgreSQL going away under load, as a failover looks to a client: every connection of the pool
 * cut at once (the primary died), then the server gone for a while and back (the standby
 * promoted at the same address, as managed services do behind their DNS name). The gateway's pool
 * must reconnect by itself, refuse what it cannot bill with a clean 503, and bill every 200 once.
 */
describe('PostgreSQL failover under load', () => {
  let postgres: PrivateService;
  let setup: TestGateway;
  let gateway: RunningProcess;

  beforeAll(async () => {
    postgres = await privateService('postgres');
    setup = await startTestGateway({ DATABASE_URL: postgres.url });
    gateway = await startGatewayProcess({ ...setup.env, LOG_LEVEL: 'warn' });
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    await setup?.stop().catch(() => undefined);
    await postgres?.destroy();
  });

  it('reconnects after its connections are cut and after a restart; every 200 is billed once, no refusal is', async () => {
    const { accountId, key } = await setup.newKey({ plan: 'ENTERPRISE' });
    const served: string[] = [];
    const refused = new Map<string, number>(); // code -> count
    const refusedIds: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const response = await fetch(`${gateway.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: OWN_ACCOUNT, variables: { a: accountId } }),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await response.json()) as { data?: { account?: { id: string } }; errors?: Array<{ extensions?: { code?: string } }> };
        const id = response.headers.get('x-request-id')!;
        if (response.status === 200 && body.data?.account?.id === accountId) served.push(id);
        else {
          const code = `${response.status} ${body.errors?.[0]?.extensions?.code}`;
          refused.set(code, (refused.get(code) ?? 0) + 1);
          refusedIds.push(id);
          // a refused client backs off a little, as the Retry-After asks
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const servedSince = async (count: number) => served.length >= count + 20;

    try {
      await waitFor('traffic to be served', () => servedSince(0), 30_000);

      // 1. The primary dies: every backend of the gateway's database is cut mid-traffic.
      const admin = new Client({ connectionString: postgres.url });
      await admin.connect();
      const { rowCount } = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      await admin.end();
      expect(rowCount).toBeGreaterThan(0);
      const afterCut = served.length;
      await waitFor('200s again after the connections were cut', () => servedSince(afterCut), 30_000);

      // 2. The server is gone for a while, then back at the same address.
      await postgres.stop();
      const duringOutage = served.length;
      await waitFor('refusals while PostgreSQL is down', async () => refusedIds.length > 0, 30_000);
      await postgres.start();
      await waitFor('200s again after the restart', () => servedSince(duringOutage), 60_000);
    } finally {
      running = false;
      await Promise.all(clients);
    }

    // Only clean, typed refusals while PostgreSQL could not take the ledger write: never a 500.
    expect([...refused.keys()].every((code) => code === '503 SERVICE_UNAVAILABLE')).toBe(true);
    const records = await setup.services.db.prisma.usageRecord.findMany({ where: { accountId }, select: { requestId: true } });
    const recorded = new Set(records.map((record) => record.requestId));
    expect(served.filter((id) => !recorded.has(id))).toEqual([]); // every 200 billed
    expect(refusedIds.filter((id) => recorded.has(id))).toEqual([]); // no refusal billed
    expect(records).toHaveLength(served.length); // and nothing else
    expect(gateway.output()).not.toMatch(/"level":(50|60).*(uncaught|unhandled)/);
  }, 180_000);
});
