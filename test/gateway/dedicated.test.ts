import WebSocket from 'ws';
import { graphql, startGatewayProcess, type RunningProcess } from '../support/process';
import { startTestGateway, type TestGateway } from '../support/harness';

/** A pool of gateway processes for some accounts only (DEDICATED_ACCOUNTS): nobody else's load reaches it. */
describe('dedicated capacity', () => {
  let shared: TestGateway;
  let dedicated: RunningProcess;
  let enterprise: { key: string; accountId: string };
  let other: { key: string; accountId: string };
  const ownAccount = (accountId: string) => `{ account(id: "${accountId}") { id } }`;

  beforeAll(async () => {
    shared = await startTestGateway();
    enterprise = await shared.newKey({ plan: 'ENTERPRISE' });
    other = await shared.newKey({ plan: 'ENTERPRISE' });
    dedicated = await startGatewayProcess({ ...shared.env, DEDICATED_ACCOUNTS: enterprise.accountId.toUpperCase() });
  }, 90_000);
  afterAll(async () => {
    await dedicated?.stop();
    await shared?.stop();
  });

  it('serves its accounts and refuses every other caller before the body is read, keyed or not', async () => {
    const served = await graphql(dedicated.url, ownAccount(enterprise.accountId), { headers: { authorization: `Bearer ${enterprise.key}` } });
    expect(served.status).toBe(200);
    expect(served.body.data.account.id).toBe(enterprise.accountId);

    for (const headers of [{ authorization: `Bearer ${other.key}` }, {}] as Array<Record<string, string>>) {
      const refused = await graphql(dedicated.url, '{ health { status } }', { headers });
      expect(refused.status).toBe(403);
      expect(refused.body.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'DEDICATED_CAPACITY' });
    }
    // A bad key is still a bad key (401), whatever the pool.
    expect((await graphql(dedicated.url, '{ health { status } }', { headers: { authorization: 'Bearer tg_live_nope' } })).status).toBe(401);
    // The shared pool serves everyone, the dedicated accounts too.
    expect((await shared.query(ownAccount(other.accountId), { key: other.key })).status).toBe(200);
    expect((await shared.query(ownAccount(enterprise.accountId), { key: enterprise.key })).status).toBe(200);
    // Refused callers were not billed there either.
    expect(await shared.services.db.prisma.usageRecord.count({ where: { accountId: other.accountId } })).toBe(1);
  });

  it("closes another tenant's WebSocket (4403) and keeps its own", async () => {
    const connect = (key: string) =>
      new Promise<{ acked: boolean; closeCode?: number }>((resolve) => {
        const socket = new WebSocket(`${dedicated.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
        socket.on('message', (data) => {
          if (JSON.parse(String(data)).type === 'connection_ack') {
            socket.close();
            resolve({ acked: true });
          }
        });
        socket.on('close', (code) => resolve({ acked: false, closeCode: code }));
      });
    expect(await connect(enterprise.key)).toEqual({ acked: true });
    expect(await connect(other.key)).toEqual({ acked: false, closeCode: 4403 });
  });
});
