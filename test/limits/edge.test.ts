import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEdge, type Edge } from '../../bench/lib/edge';
import { hashKey } from '../../src/keys/secret';
import { authenticate } from '../../src/auth/authenticate';
import { EdgePriorities, runtimeCommand } from '../../src/limits/edge';
import { startTestGateway, type TestGateway } from '../support/harness';
import { freePort, waitFor } from '../support/process';
import { heldRequest, opened, rawRequest, type RawAnswer } from '../support/raw-http';

/** The edge's priority map: SHA-256 of a key -> class. */
async function mapOf(edge: Edge, map: string): Promise<Map<string, string>> {
  const lines = (await runtimeCommand(edge.runtimeApi, `show map ${map}\n`)).split('\n').filter((line) => line.startsWith('0x'));
  return new Map(lines.map((line) => line.split(' ').slice(1, 3) as [string, string]));
}

/** Requests waiting in the edge's queue for the gateway (HAProxy's qcur, backend and server). */
async function queued(edge: Edge): Promise<number> {
  const rows = (await runtimeCommand(edge.runtimeApi, 'show stat\n')).split('\n').filter((row) => row.startsWith('gateway,'));
  return rows.reduce((sum, row) => sum + Number(row.split(',')[2] || 0), 0);
}

describe('the tier-aware edge (HAProxy with deploy/edge/haproxy.cfg, in front of a gateway on the real services)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgraph-edge-'));
  const map = join(dir, 'priorities.map');
  writeFileSync(map, '');
  let gateway: TestGateway;
  let patient: Edge;
  let impatient: Edge;
  beforeAll(async () => {
    const runtimeApi = `127.0.0.1:${await freePort()}`;
    gateway = await startTestGateway({ EDGE_RUNTIME_API: runtimeApi, EDGE_PRIORITY_MAP: map, EDGE_RESYNC_MS: '300', OVERLOAD_SHEDDING: 'false' });
    const gatewayAddress = new URL(gateway.url).host;
    patient = await startEdge({ gateway: gatewayAddress, maxConnections: 1, queueTimeout: '30s', map, runtimeApi });
    impatient = await startEdge({ gateway: gatewayAddress, maxConnections: 1, queueTimeout: '300ms', map, runtimeApi: `127.0.0.1:${await freePort()}` });
  });
  afterAll(async () => {
    await patient?.stop();
    await impatient?.stop();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const own = (accountId: string) => `{ account(id: "${accountId}") { id } }`;
  const viaEdge = (edge: Edge, key: string | undefined, query: string) => opened(edge.url).then((socket) => rawRequest(socket, key, query));
  const inFlight = async () => Number(/^tollgraph_overload_in_flight (\S+)$/m.exec(await (await fetch(`${gateway.url}/metrics`)).text())?.[1]);
  /** A request through `edge` that the gateway has admitted and whose body is held back: it holds the edge's only connection. */
  const holdTheGateway = async (edge: Edge) => {
    const holder = await gateway.newKey({ plan: 'FREE' });
    const held = heldRequest(await opened(edge.url), holder.key, own(holder.accountId));
    await waitFor('the held request admitted by the gateway', async () => (await inFlight()) === 1, 10_000, 10);
    return held;
  };

  it('learns each paying key from the gateway that verifies it, follows its plan, and forgets it when the gateway refuses it', async () => {
    const keys = {
      ENTERPRISE: await gateway.newKey({ plan: 'ENTERPRISE' }),
      PROFESSIONAL: await gateway.newKey({ plan: 'PROFESSIONAL' }),
      FREE: await gateway.newKey({ plan: 'FREE' }),
    };
    for (const { key, accountId } of Object.values(keys)) expect((await viaEdge(patient, key, own(accountId))).status).toBe(200);
    const hash = (plan: keyof typeof keys) => hashKey(keys[plan].key);
    await waitFor('the paying keys in the map', async () => (await mapOf(patient, map)).size === 2, 10_000, 20);
    const learned = await mapOf(patient, map);
    expect(learned.get(hash('ENTERPRISE'))).toBe('0');
    expect(learned.get(hash('PROFESSIONAL'))).toBe('100');
    expect(learned.has(hash('FREE'))).toBe(false); // the default class, like any key the edge does not know

    await gateway.services.keys.revoke(keys.ENTERPRISE.keyId, { type: 'system:test' });
    expect((await viaEdge(patient, keys.ENTERPRISE.key, own(keys.ENTERPRISE.accountId))).status).toBe(401);
    await waitFor('the revoked key out of the map', async () => !(await mapOf(patient, map)).has(hash('ENTERPRISE')), 10_000, 20);
    expect((await mapOf(patient, map)).get(hash('PROFESSIONAL'))).toBe('100');

    // A plan change reaches the map with the account's next request (its cache is dropped everywhere at once).
    const classOf = async (plan: keyof typeof keys) => (await mapOf(patient, map)).get(hash(plan));
    const SYSTEM = { type: 'system:test' } as const;
    await gateway.services.accounts.setPlan(keys.PROFESSIONAL.accountId, 'ENTERPRISE', SYSTEM);
    expect((await viaEdge(patient, keys.PROFESSIONAL.key, own(keys.PROFESSIONAL.accountId))).status).toBe(200);
    await waitFor('the upgraded key in class 0', async () => (await classOf('PROFESSIONAL')) === '0', 10_000, 20);
    await gateway.services.accounts.setPlan(keys.PROFESSIONAL.accountId, 'FREE', SYSTEM);
    expect((await viaEdge(patient, keys.PROFESSIONAL.key, own(keys.PROFESSIONAL.accountId))).status).toBe(200);
    await waitFor('the downgraded key out of the map', async () => (await classOf('PROFESSIONAL')) === undefined, 10_000, 20);
  });

  it('fills an edge that lost its map (restarted) again within EDGE_RESYNC_MS', async () => {
    const enterprise = await gateway.newKey({ plan: 'ENTERPRISE' });
    expect((await viaEdge(patient, enterprise.key, own(enterprise.accountId))).status).toBe(200);
    await waitFor('the key in the map', async () => (await mapOf(patient, map)).get(hashKey(enterprise.key)) === '0', 10_000, 20);
    await runtimeCommand(patient.runtimeApi, `clear map ${map}\n`);
    expect((await mapOf(patient, map)).size).toBe(0);
    await waitFor('the key back in the map', async () => (await mapOf(patient, map)).get(hashKey(enterprise.key)) === '0', 5_000, 20);
  });

  it('logs what the edge refused, e.g. a map it does not load', async () => {
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as ConstructorParameters<typeof EdgePriorities>[1];
    const edge = new EdgePriorities({ runtimeApi: patient.runtimeApi, map: join(dir, 'not-loaded.map'), resyncMs: 60_000 }, logger);
    const paying = await gateway.newKey({ plan: 'ENTERPRISE' });
    const auth = await authenticate(gateway.services.keys, gateway.services.accounts, { authorization: `Bearer ${paying.key}` });
    edge.observe(auth, { authorization: `Bearer ${paying.key}` });
    await edge.stop();
    expect(warnings).toHaveLength(1);
    expect(warnings[0][0]).toMatchObject({ map: join(dir, 'not-loaded.map'), answer: [expect.stringMatching(/Unknown map identifier/)] });
    expect(String(warnings[0][1])).toContain('EDGE_PRIORITY_MAP');
  });

  it('serves its queue highest plan first, whatever the order the requests came in, and never queues ENTERPRISE', async () => {
    const enterprise = await gateway.newKey({ plan: 'ENTERPRISE' });
    const professional = await gateway.newKey({ plan: 'PROFESSIONAL' });
    const free = await gateway.newKey({ plan: 'FREE' });
    // Known to the edge before the queue forms (each verified once, directly).
    for (const { key, accountId } of [enterprise, professional]) expect((await gateway.query(own(accountId), { key })).status).toBe(200);
    await waitFor(
      'the keys in the map',
      async () => (await mapOf(patient, map)).has(hashKey(enterprise.key)) && (await mapOf(patient, map)).has(hashKey(professional.key)),
      10_000,
      20,
    );

    const held = await holdTheGateway(patient);
    const answered: string[] = [];
    const answers: Promise<RawAnswer>[] = [];
    const send = async (label: string, key: { key: string; accountId: string } | undefined) => {
      answers.push(
        viaEdge(patient, key?.key, key ? own(key.accountId) : '{ __typename }').then((answer) => {
          answered.push(label);
          return answer;
        }),
      );
      await waitFor(`${label} waiting at the edge`, async () => (await queued(patient)) === answers.length, 10_000, 10);
    };
    await send('anonymous', undefined);
    await send('FREE', free);
    await send('PROFESSIONAL', professional);
    // The gateway's only slot is still held and three requests wait: ENTERPRISE goes past them all.
    expect((await viaEdge(patient, enterprise.key, own(enterprise.accountId))).status).toBe(200);
    expect(answered).toEqual([]);
    expect(await queued(patient)).toBe(3);
    held.finish();
    expect((await held.answer).status).toBe(200);
    expect((await Promise.all(answers)).map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(answered).toEqual(['PROFESSIONAL', 'FREE', 'anonymous']);
  });

  it("keeps a live feed's connection out of the gateway's request slots", async () => {
    const subscriber = await gateway.newKey({ plan: 'FREE' });
    const socket = new WebSocket(`${impatient.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    try {
      const acked = new Promise<void>((resolve, reject) => {
        socket.on('message', (data) => (JSON.parse(String(data)).type === 'connection_ack' ? resolve() : undefined));
        socket.once('error', reject);
      });
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${subscriber.key}` } }));
      await acked;
      // The feed's connection is open through the edge, whose gateway takes one request at a time:
      // a request still gets through (it would wait behind the feed and be refused after 300 ms).
      expect((await viaEdge(impatient, subscriber.key, own(subscriber.accountId))).status).toBe(200);
    } finally {
      socket.close();
    }
  });

  it('refuses a request that waited EDGE_QUEUE_TIMEOUT itself: 503 OVERLOADED with Retry-After, never seen by the gateway, never charged', async () => {
    const free = await gateway.newKey({ plan: 'FREE' });
    const usage = () => gateway.services.db.prisma.usageRecord.count({ where: { accountId: free.accountId } });
    const held = await holdTheGateway(impatient);
    const began = performance.now();
    const answer = await viaEdge(impatient, free.key, own(free.accountId));
    expect(performance.now() - began).toBeGreaterThanOrEqual(250);
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(answer.body.errors[0].extensions).toMatchObject({ code: 'OVERLOADED', retryAfterSeconds: 1 });
    held.finish();
    expect((await held.answer).status).toBe(200);
    expect(await usage()).toBe(0);
  });
});
