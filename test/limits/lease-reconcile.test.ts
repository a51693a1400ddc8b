import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { LEASE_GRACE_MS, LEASE_SHARE, type Lease, type LeaseKeys, QuotaLeaseStore } from '../../src/limits/leases';
import { memoryPubSub } from '../../src/pubsub/pubsub';
import { serviceUrl } from '../support/throwaway-database';
import { waitFor } from '../support/process';

/**
 * A proxy in front of Redis that fails the next call one of two ways: `lose-reply` forwards it
 * (it runs) and closes the connection instead of answering, as a master killed right after a
 * script ran; `refuse` closes the connection without forwarding it (it never runs).
 */
async function faultyProxy(target: URL): Promise<{ port: number; fail(mode: 'lose-reply' | 'refuse'): void; close(): Promise<void> }> {
  let armed: 'lose-reply' | 'refuse' | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (armed === 'refuse') {
        armed = undefined;
        end();
      } else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (armed === 'lose-reply') {
        armed = undefined;
        end();
      } else client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', () => {
        sockets.delete(socket);
        end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    fail: (mode) => {
      armed = mode;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Units a lease gives back when its call to Redis fails are not lost, whatever became of the call:
 * every scenario ends with the day's counter in Redis equal to the units the process admitted.
 */
describe('quota leases when a call to Redis is never answered', () => {
  const target = new URL(serviceUrl('REDIS_URL'));
  const limits = { burstPerSecond: 100_000, dailyQuota: 1000 };
  let proxy: Awaited<ReturnType<typeof faultyProxy>>;
  let direct: Redis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    proxy = await faultyProxy(target);
    direct = new Redis(serviceUrl('REDIS_URL'));
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    direct.disconnect();
    await proxy.close();
  });

  const storeThrough = async (options: RedisOptions) => {
    const redis = new Redis({
      host: '127.0.0.1',
      port: proxy.port,
      username: target.username || undefined,
      password: target.password || undefined,
      ...options,
    });
    redis.on('error', () => undefined);
    clients.push(redis);
    await waitFor('the client to connect', async () => redis.status === 'ready', 10_000, 10);
    const store = new QuotaLeaseStore(redis, memoryPubSub(), {
      burstWindowSec: 1,
      dailyTtlSec: 3600,
      share: LEASE_SHARE,
      maxSurplus: 50,
      graceMs: LEASE_GRACE_MS,
    });
    return { redis, store };
  };
  const keysOf = (): LeaseKeys => {
    const daily = `test:reconcile:{${randomUUID()}}:daily`;
    return { burst: `${daily}:burst`, daily, holders: `${daily}:holders`, calls: `${daily}:calls` };
  };
  const counted = async (keys: LeaseKeys) => Number(await direct.get(keys.daily));
  const granted = (grant: Awaited<ReturnType<QuotaLeaseStore['grant']>>): Lease => {
    if (grant.verdict !== 'granted') throw new Error(`refused by the ${grant.verdict} limit`);
    return grant.lease;
  };

  /** A first lease of 1 + 50 units, 10 of its surplus spent: 11 units admitted, 40 to give back. */
  const leaseSpent = async (store: QuotaLeaseStore, keys: LeaseKeys) => {
    const lease = granted(await store.grant({ accountId: 'a', day: 'd', keys, limits, need: 1, want: 50, giveBack: 0 }));
    expect(lease.left).toBe(50);
    lease.left -= 10;
    return lease;
  };

  it.each([
    ['ran, but its answer was lost', 'lose-reply'],
    ['never reached Redis', 'refuse'],
  ] as const)('settles a grant that %s with the next call: nothing lost, nothing given twice', async (_, mode) => {
    const { redis, store } = await storeThrough({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    const keys = keysOf();
    const first = await leaseSpent(store, keys);
    proxy.fail(mode);
    // The request this grant was for is decided without Redis (the Redis-down policy): 12 admitted.
    await expect(store.grant({ accountId: 'a', day: 'd', keys, limits, need: 1, want: 20, giveBack: first.left })).rejects.toThrow();
    await waitFor('the client to reconnect', async () => redis.status === 'ready', 10_000, 10);
    const third = granted(await store.grant({ accountId: 'a', day: 'd', keys, limits, need: 1, want: 20, giveBack: 0 }));
    third.left -= 5; // 13 + 5 admitted
    await store.settle(third);
    // The lost call's request was counted when it ran (it was admitted); it is not when it never ran.
    expect(await counted(keys)).toBe(mode === 'lose-reply' ? 18 : 17);
    expect(await direct.hgetall(keys.holders)).toEqual({});
  });

  it('counts a grant once when the client resends it after its connection closed', async () => {
    const { store } = await storeThrough({ autoResendUnfulfilledCommands: true });
    const keys = keysOf();
    const first = await leaseSpent(store, keys);
    proxy.fail('lose-reply');
    // ioredis reconnects and sends the script again: it runs twice, one answer comes back.
    const second = granted(await store.grant({ accountId: 'a', day: 'd', keys, limits, need: 1, want: 20, giveBack: first.left }));
    expect(second.left).toBe(20);
    second.left -= 2;
    await store.settle(second);
    expect(await counted(keys)).toBe(11 + 1 + 2);
  });

  it('owes a long outage one sum, not a call per request, and gives it back once Redis answers', async () => {
    const { redis, store } = await storeThrough({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    const keys = keysOf();
    const first = await leaseSpent(store, keys);
    redis.disconnect();
    await waitFor('the client to close', async () => redis.status === 'end', 10_000, 10);
    // Every request of the outage asks for a lease and is refused before anything is sent.
    await expect(store.grant({ accountId: 'a', day: 'd', keys, limits, need: 1, want: 20, giveBack: first.left })).rejects.toThrow();
    for (let i = 0; i < 1000; i++) await expect(store.grant({ accountId: 'a', day: 'd', keys, limits, need: 1, want: 20, giveBack: 0 })).rejects.toThrow();
    expect(store['owed'].get(keys.holders)).toMatchObject({ unsent: 40, calls: [] });
    await redis.connect();
    await store.settleOwed();
    expect(await counted(keys)).toBe(11);
    expect(store['owed'].size).toBe(0);
  });

  it('gives back a settle that failed once Redis answers again', async () => {
    const { redis, store } = await storeThrough({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    const keys = keysOf();
    const lease = await leaseSpent(store, keys);
    proxy.fail('refuse');
    await expect(store.settle(lease)).rejects.toThrow();
    expect(await counted(keys)).toBe(51);
    await waitFor('the client to reconnect', async () => redis.status === 'ready', 10_000, 10);
    await store.settleOwed();
    expect(await counted(keys)).toBe(11);
    // Settled once: another round gives nothing back twice.
    await store.settleOwed();
    expect(await counted(keys)).toBe(11);
  });
});
