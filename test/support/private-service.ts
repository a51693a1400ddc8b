import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { freePort } from './process';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '..', '..', 'scripts', 'services.sh');

/** services.sh's cluster: 6 nodes on consecutive ports, each with its cluster bus 10000 above. */
const CLUSTER_NODES = 6;

/** The first of `count` consecutive free ports whose +10000 neighbours (a cluster's bus ports) are free too. */
async function freePortRange(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => [first + i, first + i + 10_000]).flat();
    if ((await Promise.all(ports.map(free))).every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/**
 * A Postgres or Redis (or Redis Cluster) of this test file's own, started by the same scripts/services.sh that runs
 * the shared ones, on a free port and in a temp folder, so an outage test can stop it without
 * disturbing the other test files.
 */
export interface PrivateService {
  /** How to reach it: a URL, or for a cluster its nodes as REDIS_CLUSTER_NODES takes them. */
  url: string;
  /** Its SERVICES_DIR (a cluster node's pid is in `<dir>/redis-cluster/<port>/redis.pid`). */
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
}

export async function privateService(name: 'postgres' | 'redis' | 'redis-cluster'): Promise<PrivateService> {
  const dir = mkdtempSync(join(tmpdir(), `tg-${name}-`));
  const port = name === 'redis-cluster' ? await freePortRange(CLUSTER_NODES) : await freePort();
  const variable = { postgres: 'PG_PORT', redis: 'REDIS_PORT', 'redis-cluster': 'REDIS_CLUSTER_FIRST_PORT' }[name];
  const env = { ...process.env, SERVICES_DIR: dir, [variable]: String(port) };
  const services = (...args: string[]) => run('bash', [SCRIPT, ...args], { env, maxBuffer: 16 << 20 }).then(() => undefined);
  await services('up', name);
  const urls = {
    postgres: `postgresql://tollgraph:tollgraph@127.0.0.1:${port}/tollgraph`,
    redis: `redis://127.0.0.1:${port}`,
    'redis-cluster': Array.from({ length: CLUSTER_NODES }, (_, i) => `127.0.0.1:${port + i}`).join(','),
  };
  return {
    url: urls[name],
    dir,
    stop: () => services('stop', name),
    start: () => services('start', name),
    destroy: async () => {
      await services('down', name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
