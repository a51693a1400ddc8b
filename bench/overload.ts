import { getIntrospectionQuery } from 'graphql';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './context';
import { forkChild, freePort, sleep, type Child } from './lib/common';
import { startEdge, type Edge } from './lib/edge';
import { closedLoop, graphqlOnce, openLoop, type GraphqlLoad, type OpenLoopResult } from './lib/load';
import { createWorld, seedScores } from './lib/world';

/** The steady paying load whose latency the policy protects (requests per second). */
export const ENTERPRISE_RATE = 100;
/** Each attacking load is offered at this multiple of what the gateway can serve of it alone. */
export const ATTACK_FACTOR = 1;
const CAPACITY_CONNECTIONS = 32;
const ATTACK_CONNECTIONS = 64;
const LIFTED = String(2_000_000_000);

/**
 * The settings compared: shedding off, on with the defaults, on with thresholds for a
 * latency-sensitive deployment (a pressure that reaches 1 at 10 ms of event-loop delay or 64
 * requests in flight), the same with a concurrency limit (at most QUEUED_CONCURRENCY requests
 * run at once, the others wait in their tier's queue, ENTERPRISE never), and dedicated capacity
 * (the ENTERPRISE account served by a gateway process of its own, DEDICATED_ACCOUNTS; the attack
 * on the shared one, with the defaults), and the tier-aware edge in front of one shared process,
 * without and with slots reserved for ENTERPRISE while it is active (EDGE_ENTERPRISE_RESERVE).
 */
const TIGHT = { OVERLOAD_SHEDDING: 'true', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '10', OVERLOAD_MAX_IN_FLIGHT: '64' } as const;
export const QUEUED_CONCURRENCY = 8;
export const QUEUED_MAX_MS = 50;
/**
 * The tier-aware edge (deploy/edge/haproxy.cfg) in front of the shared process (defaults): at
 * most EDGE_CONNECTIONS requests below ENTERPRISE reach the gateway at once, the others wait in
 * HAProxy's queue, highest plan first, at most QUEUED_MAX_MS; ENTERPRISE is never queued.
 */
export const EDGE_CONNECTIONS = 4;
/** The same edge with reserved concurrency: while ENTERPRISE is active, the other plans get EDGE_CONNECTIONS - EDGE_RESERVE slots. */
export const EDGE_RESERVE = 2;
export const POLICIES = {
  off: { OVERLOAD_SHEDDING: 'false' },
  defaults: { OVERLOAD_SHEDDING: 'true' },
  tight: TIGHT,
  queued: { ...TIGHT, OVERLOAD_CONCURRENCY: String(QUEUED_CONCURRENCY), OVERLOAD_MAX_QUEUE_MS: String(QUEUED_MAX_MS) },
  dedicated: { OVERLOAD_SHEDDING: 'true' },
  edge: { OVERLOAD_SHEDDING: 'true' },
  reserved: { OVERLOAD_SHEDDING: 'true', EDGE_GATEWAY_MAXCONN: String(EDGE_CONNECTIONS), EDGE_ENTERPRISE_RESERVE: String(EDGE_RESERVE) },
} as const;
const BEHIND_THE_EDGE: ReadonlySet<Policy> = new Set(['edge', 'reserved']);
export type Policy = keyof typeof POLICIES;

const ENTERPRISE_QUERY =
  'query RiskScore($customerId: ID!) { riskScore(customerId: $customerId) { customerId score band factors { code contribution detail } eventTime computedAt freshnessSeconds modelVersion } }';
const FREE_QUERY = 'query Band($customerId: ID!) { riskScore(customerId: $customerId) { customerId band } }';

export interface OverloadRun {
  policy: Policy;
  run: number;
  /** What the gateway served of each load alone (closed loop): the attack is offered at these rates. */
  capacity: { free: number; anonymous: number };
  /** The ENTERPRISE load alone, then beside the attack. */
  unloaded: OpenLoopResult;
  loaded: OpenLoopResult;
  /** The attacking loads: FREE `riskScore` (band) and anonymous introspection, each at its capacity. */
  free: OpenLoopResult;
  anonymous: OpenLoopResult;
}

export interface OverloadResult {
  enterpriseRate: number;
  attackFactor: number;
  seconds: number;
  runs: OverloadRun[];
}

interface Gateway {
  child: Child;
  url: string;
}

/**
 * Plan-aware shedding under overload (README, "Overload"): a steady ENTERPRISE load alone, then
 * beside FREE queries and anonymous introspection each offered at what the gateway can serve of
 * it alone (together twice its capacity), with the policy on and off in turn. Every load is open
 * loop (latency from when each request was due); the attacking loads come from processes of their
 * own, so generating them does not slow the measuring client.
 */
export async function overloadBenchmark(ctx: BenchContext): Promise<OverloadResult> {
  const { smoke, log } = ctx;
  const seconds = smoke ? 1 : 6;
  const runsPerPolicy = smoke ? 1 : 3;
  const world = await createWorld(ctx.urls);
  const gateways: Gateway[] = [];
  const edges: Edge[] = [];
  const edgeDir = mkdtempSync(join(tmpdir(), 'tollgraph-bench-edge-'));
  const edgeMap = join(edgeDir, 'priorities.map');
  try {
    const customers = await seedScores(world, smoke ? 200 : 2_000);
    const bodies = (query: string) => customers.map((customerId) => JSON.stringify({ query, variables: { customerId } }));
    // FREE accounts with their plan's per-account limits lifted: many accounts (or one attacker's
    // many sign-ups) would add up to this; what is measured is the process, not the plan's limits.
    const freeKeys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const account = await world.services.accounts.create(
        { name: `Free ${i}`, email: `free-${i}-${world.env.REDIS_KEY_PREFIX.slice(9, 17)}@example.com`, planCode: 'FREE' },
        { type: 'system:bench' },
      );
      await world.services.accounts.setOverrides(account.id, { burstPerSecond: 2_000_000_000, dailyQuota: 2_000_000_000 }, { type: 'system:bench' });
      freeKeys.push((await world.services.keys.create({ accountId: account.id, name: 'bench', role: 'SUBSCRIBER' }, { type: 'system:bench' })).secret);
    }

    const start = async (policy: Policy, extra: Record<string, string> = {}): Promise<Gateway> => {
      const child = forkChild('gateway', {
        name: `gateway-overload-${policy}${extra.DEDICATED_ACCOUNTS ? '-pool' : ''}`,
        env: {
          ...world.env,
          BENCH_MODE: 'full',
          PORT: String(await freePort()),
          ...POLICIES[policy],
          ...extra,
          ANONYMOUS_REQUESTS_PER_MINUTE: LIFTED,
          AUTH_FAILURES_PER_MINUTE: LIFTED,
        },
        profileDir: ctx.profileDir,
      });
      const gateway = { child, url: (await child.next<{ type: 'ready'; url: string }>('ready')).url };
      gateways.push(gateway);
      return gateway;
    };

    const runs: OverloadRun[] = [];
    for (let run = 1; run <= runsPerPolicy; run++) {
      // Measured on the gateway without the policy (with it, a closed loop of refusals would count as capacity).
      let capacity = { free: 0, anonymous: 0 };
      for (const policy of Object.keys(POLICIES) as Policy[]) {
        // The edge learns the ENTERPRISE key from the gateway (its warm-up request below), from an empty map.
        const runtimeApi = BEHIND_THE_EDGE.has(policy) ? `127.0.0.1:${await freePort()}` : undefined;
        if (runtimeApi) writeFileSync(edgeMap, '');
        const shared = await start(policy, runtimeApi ? { EDGE_RUNTIME_API: runtimeApi, EDGE_PRIORITY_MAP: edgeMap } : {});
        const edge = runtimeApi
          ? await startEdge({
              gateway: new URL(shared.url).host,
              maxConnections: EDGE_CONNECTIONS,
              queueTimeout: `${QUEUED_MAX_MS}ms`,
              map: edgeMap,
              runtimeApi,
            })
          : undefined;
        if (edge) edges.push(edge);
        const gateway = edge ? { ...shared, url: edge.url } : shared;
        const pool = policy === 'dedicated' ? await start(policy, { DEDICATED_ACCOUNTS: world.accountId }) : gateway;
        const enterprise: GraphqlLoad = { url: pool.url, headers: { authorization: `Bearer ${world.apiKey}` }, bodies: bodies(ENTERPRISE_QUERY) };
        const free: GraphqlLoad = { url: gateway.url, headers: { authorization: `Bearer ${freeKeys[run % freeKeys.length]}` }, bodies: bodies(FREE_QUERY) };
        const anonymous: GraphqlLoad = { url: gateway.url, headers: {}, bodies: [JSON.stringify({ query: getIntrospectionQuery() })] };
        for (const [load, body] of [
          [enterprise, enterprise.bodies[0]],
          [free, free.bodies[0]],
          [anonymous, anonymous.bodies[0]],
        ] as const) {
          let answer = await graphqlOnce(load, body);
          // A process that has just started may still count its start-up as load for a moment.
          for (let retry = 0; answer.status === 503 && retry < 50; retry++) answer = await sleep(100).then(() => graphqlOnce(load, body));
          if (answer.status !== 200 || answer.json.errors)
            throw new Error(`overload: warm-up answered ${answer.status} ${JSON.stringify(answer.json).slice(0, 300)}`);
        }
        await closedLoop(free, CAPACITY_CONNECTIONS, smoke ? 1 : 2);
        if (policy === 'off') {
          capacity = {
            free: (await closedLoop(free, CAPACITY_CONNECTIONS, smoke ? 1 : 3)).requestsPerSecond,
            anonymous: (await closedLoop(anonymous, 8, smoke ? 1 : 3)).requestsPerSecond,
          };
        }
        await sleep(500);
        const unloaded = await openLoop(enterprise, ENTERPRISE_RATE, seconds);
        await sleep(500);
        const attackers = [forkChild('load', { name: 'load-free', env: {} }), forkChild('load', { name: 'load-anonymous', env: {} })];
        // Attackers run elsewhere; here they share the two cores, so they get what the gateway and
        // the measuring client leave (lowest priority), or they would measure this machine's
        // scheduler instead of the gateway.
        for (const child of attackers) setPriority(child.process.pid!, 19);
        await Promise.all(attackers.map((child) => child.next('ready')));
        attackers[0].send({ type: 'run', load: free, rate: capacity.free * ATTACK_FACTOR, seconds: seconds + 2, connections: ATTACK_CONNECTIONS });
        attackers[1].send({ type: 'run', load: anonymous, rate: capacity.anonymous * ATTACK_FACTOR, seconds: seconds + 2, connections: ATTACK_CONNECTIONS });
        // The attack is under way for a second before the measurement, and lasts a second after it.
        await sleep(1_000);
        const loaded = await openLoop(enterprise, ENTERPRISE_RATE, seconds);
        const [freeResult, anonymousResult] = await Promise.all(
          attackers.map((child) => child.next<{ type: 'result'; result: OpenLoopResult }>('result', 120_000)),
        );
        for (const child of attackers) {
          child.send({ type: 'exit' });
          await child.stop();
        }
        runs.push({ policy, run, capacity, unloaded, loaded, free: freeResult.result, anonymous: anonymousResult.result });
        const shedShare = (result: OpenLoopResult) => `${(((result.failureKinds['HTTP 503'] ?? 0) / result.samples) * 100).toFixed(0)} % shed`;
        log(
          `overload: policy ${policy}, run ${run}: capacity FREE ${capacity.free.toFixed(0)} req/s, introspection ${capacity.anonymous.toFixed(0)} req/s; ` +
            `ENTERPRISE p99 ${unloaded.p99Ms.toFixed(1)} ms alone, ${loaded.p99Ms.toFixed(1)} ms under attack (${loaded.failures} failed); ` +
            `FREE ${shedShare(freeResult.result)}, anonymous ${shedShare(anonymousResult.result)}`,
        );
        await edge?.stop();
        await gateway.child.stop();
        await pool.child.stop();
      }
    }
    return { enterpriseRate: ENTERPRISE_RATE, attackFactor: ATTACK_FACTOR, seconds, runs };
  } finally {
    for (const edge of edges) await edge.stop();
    for (const gateway of gateways) await gateway.child.stop();
    rmSync(edgeDir, { recursive: true, force: true });
    await world.close();
  }
}
