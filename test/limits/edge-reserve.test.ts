import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEdge, type Edge } from '../../bench/lib/edge';
import { authenticate } from '../../src/auth/authenticate';
import { EdgePriorities, runtimeCommand } from '../../src/limits/edge';
import { startTestGateway, type TestGateway } from '../support/harness';
import { freePort, waitFor } from '../support/process';
import { heldRequest, opened, rawRequest, type RawAnswer } from '../support/raw-http';

const MAXCONN = 3;
const RESERVE = 2;
const IDLE_MS = 2_000;

/**
 * The edge's gateway backend in `show stat`: requests waiting for it (qcur of the backend and its
 * server: a request waits in the backend's queue until a server is chosen) and the server's current
 * limit (slim).
 */
async function gatewayStat(edge: Edge): Promise<{ queued: number; limit: number }> {
  const rows = (await runtimeCommand(edge.runtimeApi, 'show stat\n')).split('\n').filter((line) => line.startsWith('gateway,'));
  const server = rows.find((row) => row.startsWith('gateway,gateway,'));
  if (!server) throw new Error("no gateway/gateway in the edge's stats");
  return { queued: rows.reduce((sum, row) => sum + Number(row.split(',')[2] || 0), 0), limit: Number(server.split(',')[6]) };
}

describe('slots reserved for ENTERPRISE at the edge (EDGE_ENTERPRISE_RESERVE, real HAProxy and services)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgraph-edge-reserve-'));
  const map = join(dir, 'priorities.map');
  writeFileSync(map, '');
  let gateway: TestGateway;
  let edge: Edge;
  beforeAll(async () => {
    const runtimeApi = `127.0.0.1:${await freePort()}`;
    gateway = await startTestGateway({
      EDGE_RUNTIME_API: runtimeApi,
      EDGE_PRIORITY_MAP: map,
      EDGE_RESYNC_MS: '300',
      EDGE_GATEWAY_MAXCONN: String(MAXCONN),
      EDGE_ENTERPRISE_RESERVE: String(RESERVE),
      EDGE_RESERVE_IDLE_MS: String(IDLE_MS),
      OVERLOAD_SHEDDING: 'false',
    });
    edge = await startEdge({ gateway: new URL(gateway.url).host, maxConnections: MAXCONN, queueTimeout: '30s', map, runtimeApi });
  });
  afterAll(async () => {
    await edge?.stop();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const own = (accountId: string) => `{ account(id: "${accountId}") { id } }`;
  const viaEdge = (key: string, query: string) => opened(edge.url).then((socket) => rawRequest(socket, key, query));
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1]);
  const limitIs = (limit: number) => waitFor(`the gateway's limit at the edge at ${limit}`, async () => (await gatewayStat(edge)).limit === limit, 10_000, 20);

  it('gives the other plans fewer slots while ENTERPRISE is served, and all of them back once it is idle', async () => {
    const enterprise = await gateway.newKey({ plan: 'ENTERPRISE' });
    const free = await gateway.newKey({ plan: 'FREE' });
    await limitIs(MAXCONN);
    expect((await viaEdge(free.key, own(free.accountId))).status).toBe(200);
    expect(await metric('tollgraph_edge_reserved_slots')).toBe(0);

    expect((await viaEdge(enterprise.key, own(enterprise.accountId))).status).toBe(200);
    await limitIs(MAXCONN - RESERVE);
    expect(await metric('tollgraph_edge_reserved_slots')).toBe(RESERVE);

    // The one slot left to the other plans is held: a second FREE request waits at the edge, though
    // the gateway runs a single request, while ENTERPRISE keeps going straight through.
    const held = heldRequest(await opened(edge.url), free.key, own(free.accountId));
    await waitFor('the held request admitted by the gateway', async () => (await metric('tollgraph_overload_in_flight')) === 1, 10_000, 10);
    let waitingAnswered = false;
    const waiting: Promise<RawAnswer> = viaEdge(free.key, own(free.accountId)).then((answer) => {
      waitingAnswered = true;
      return answer;
    });
    await waitFor('the second FREE request queued at the edge', async () => (await gatewayStat(edge)).queued === 1, 10_000, 10);
    for (let i = 0; i < 3; i++) expect((await viaEdge(enterprise.key, own(enterprise.accountId))).status).toBe(200);
    expect(waitingAnswered).toBe(false);

    // ENTERPRISE idle for EDGE_RESERVE_IDLE_MS: the slots come back and the waiting request goes in
    // while the first one is still held.
    await limitIs(MAXCONN);
    expect((await waiting).status).toBe(200);
    expect(await metric('tollgraph_edge_reserved_slots')).toBe(0);
    held.finish();
    expect((await held.answer).status).toBe(200);
  });

  it('puts the edge back in step within EDGE_RESYNC_MS: the reserve on an edge that lost it, the slots a killed process left lowered', async () => {
    const enterprise = await gateway.newKey({ plan: 'ENTERPRISE' });
    expect((await viaEdge(enterprise.key, own(enterprise.accountId))).status).toBe(200);
    await limitIs(MAXCONN - RESERVE);
    // An edge reloaded from its configuration has its maxconn again.
    await runtimeCommand(edge.runtimeApi, `set maxconn server gateway/gateway ${MAXCONN}\n`);
    expect((await gatewayStat(edge)).limit).toBe(MAXCONN);
    await limitIs(MAXCONN - RESERVE);
    await limitIs(MAXCONN);
    // A process kill -9'd while it held a reserve never gave the slots back.
    await runtimeCommand(edge.runtimeApi, `set maxconn server gateway/gateway 1\n`);
    expect((await gatewayStat(edge)).limit).toBe(1);
    await limitIs(MAXCONN);
  });

  it('gives the slots back when a process starts and when it stops, and logs a server the edge does not have', async () => {
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as ConstructorParameters<typeof EdgePriorities>[1];
    const reserve = { maxconn: MAXCONN, slots: RESERVE, idleMs: 60_000 };
    const enterprise = await gateway.newKey({ plan: 'ENTERPRISE' });
    const auth = await authenticate(gateway.services.keys, gateway.services.accounts, { authorization: `Bearer ${enterprise.key}` });
    const headers = { authorization: `Bearer ${enterprise.key}` };

    // A new process gives the slots back at once (a predecessor killed while it held them).
    await runtimeCommand(edge.runtimeApi, `set maxconn server gateway/gateway 1\n`);
    const stopping = new EdgePriorities({ runtimeApi: edge.runtimeApi, map, resyncMs: 60_000, reserve: { ...reserve, server: 'gateway/gateway' } }, logger);
    await limitIs(MAXCONN);
    stopping.observe(auth, headers);
    await limitIs(MAXCONN - RESERVE);
    await stopping.stop();
    expect((await gatewayStat(edge)).limit).toBe(MAXCONN);

    const misnamed = new EdgePriorities({ runtimeApi: edge.runtimeApi, map, resyncMs: 60_000, reserve: { ...reserve, server: 'gateway/nowhere' } }, logger);
    misnamed.observe(auth, headers);
    await misnamed.stop();
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0][0]).toMatchObject({ answer: [expect.stringMatching(/server/i)] });
    expect(String(warnings[0][1])).toContain('EDGE_SERVER');
  });
});
