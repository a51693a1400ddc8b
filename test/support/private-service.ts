import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '..', '..', 'scripts', 'services.sh');

/**
 * A Postgres or Redis of this test file's own, started by the same scripts/services.sh that runs
 * the shared ones, on a free port and in a temp folder, so an outage test can stop it without
 * disturbing the other test files.
 */
export interface PrivateService {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
}

export async function privateService(name: 'postgres' | 'redis'): Promise<PrivateService> {
  const dir = mkdtempSync(join(tmpdir(), `tg-${name}-`));
  const port = await freePort();
  const env = { ...process.env, SERVICES_DIR: dir, [name === 'postgres' ? 'PG_PORT' : 'REDIS_PORT']: String(port) };
  const services = (...args: string[]) => run('bash', [SCRIPT, ...args], { env }).then(() => undefined);
  await services('up', name);
  return {
    url: name === 'postgres' ? `postgresql://tollgraph:tollgraph@127.0.0.1:${port}/tollgraph` : `redis://127.0.0.1:${port}`,
    stop: () => services('stop', name),
    start: () => services('start', name),
    destroy: async () => {
      await services('down', name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
