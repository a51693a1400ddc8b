import { execFile, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(__dirname, '..', '..');
const REGISTER = join(ROOT, 'bench', 'register.js');
const run = promisify(execFile);

export type ServiceName = 'DATABASE_URL' | 'REDIS_URL' | 'KAFKA_BROKERS';

/**
 * The real services, brought up as `npm test` does (scripts/test.sh): each variable already set
 * is used as it is; for the others scripts/services.sh starts the service (installing it once)
 * and prints where it listens. Stripe is not needed: billing stays off in every benchmark.
 */
export async function ensureServices(log: (line: string) => void): Promise<Record<ServiceName, string>> {
  const wanted: Record<ServiceName, string> = { DATABASE_URL: 'postgres', REDIS_URL: 'redis', KAFKA_BROKERS: 'kafka' };
  const missing = (Object.keys(wanted) as ServiceName[]).filter((name) => !process.env[name]);
  // HAProxy for the overload benchmark's edge: installed only (bench/lib/edge.ts starts its own).
  if (!process.env.HAPROXY_BIN && !existsSync('/usr/sbin/haproxy')) {
    log('installing haproxy (the edge) with scripts/services.sh');
    await run('bash', [join(ROOT, 'scripts', 'services.sh'), 'up', 'edge'], { cwd: ROOT, maxBuffer: 64 << 20 });
  }
  if (missing.length) {
    log(`starting ${missing.map((name) => wanted[name]).join(', ')} with scripts/services.sh`);
    await run('bash', [join(ROOT, 'scripts', 'services.sh'), 'up', ...missing.map((name) => wanted[name])], { cwd: ROOT, maxBuffer: 64 << 20 });
    const { stdout } = await run('bash', [join(ROOT, 'scripts', 'services.sh'), 'env'], { cwd: ROOT });
    for (const line of stdout.split('\n')) {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match && missing.includes(match[1] as ServiceName)) process.env[match[1]] = match[2];
    }
  }
  for (const name of Object.keys(wanted) as ServiceName[]) {
    if (!process.env[name]) throw new Error(`${name} is still unset after scripts/services.sh up`);
  }
  return { DATABASE_URL: process.env.DATABASE_URL!, REDIS_URL: process.env.REDIS_URL!, KAFKA_BROKERS: process.env.KAFKA_BROKERS! };
}

export const suffix = () => randomBytes(4).toString('hex');

// Shared with the tests: the same helpers, one copy.
export { freePort } from '../../test/support/process';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Messages a benchmark child sends its parent over IPC. */
export interface ChildMessage {
  type: string;
  [field: string]: unknown;
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the next message of `type` (rejects if the child exits first or the time runs out). */
  next<T extends ChildMessage>(type: string, timeoutMs?: number): Promise<T>;
  send(message: ChildMessage): void;
  /** SIGTERM (then SIGKILL after 10 s); resolves when it has exited. */
  stop(): Promise<void>;
  output(): string;
}

export interface ForkOptions {
  env: Record<string, string>;
  /** Write a V8 CPU profile of the child into this folder (node --cpu-prof). */
  profileDir?: string;
  name: string;
}

/** Runs `bench/children/<script>.ts` in its own node process (one process per role, as deployed). */
export function forkChild(script: string, { env, profileDir, name }: ForkOptions): Child {
  const execArgv = ['-r', REGISTER, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [])];
  const child = fork(join(ROOT, 'bench', 'children', `${script}.ts`), [], {
    cwd: ROOT,
    env: { ...cleanEnv(), LOG_PRETTY: 'false', ...env },
    execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const inbox: ChildMessage[] = [];
  const waiters: Array<{ type: string; resolve(message: ChildMessage): void }> = [];
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'error') {
      output += `\n[child error] ${String(message.message)}\n`;
    }
    const at = waiters.findIndex((waiter) => waiter.type === message.type);
    if (at >= 0) waiters.splice(at, 1)[0].resolve(message);
    else inbox.push(message);
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    process: child,
    output: () => output,
    send: (message) => void child.send(message),
    next: <T extends ChildMessage>(type: string, timeoutMs = 120_000) => {
      const at = inbox.findIndex((message) => message.type === type);
      if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0] as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${type}" within ${timeoutMs} ms\n${output.slice(-4000)}`)), timeoutMs);
        const waiter = {
          type,
          resolve: (message: ChildMessage) => {
            clearTimeout(timer);
            resolve(message as T);
          },
        };
        waiters.push(waiter);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before "${type}"\n${output.slice(-4000)}`));
        });
      });
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The environment without service variables of the caller's shell (each child gets exactly what it is given). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'STRIPE_SECRET_KEY', 'STRIPE_API_BASE', 'STRIPE_WEBHOOK_SECRET', 'NODE_OPTIONS', 'PORT'])
    delete env[name];
  return env;
}

/** For children: report to the parent. */
export function tell(message: ChildMessage): void {
  process.send?.(message);
}

/** For children: the parent's next message of `type`. */
export function hear<T extends ChildMessage>(type: string): Promise<T> {
  return new Promise((resolve) => {
    const listener = (message: ChildMessage) => {
      if (message.type !== type) return;
      process.off('message', listener);
      resolve(message as T);
    };
    process.on('message', listener);
  });
}

/** For children: report an unexpected failure and exit non-zero. */
export function childMain(main: () => Promise<void>): void {
  main().catch((error: Error) => {
    tell({ type: 'error', message: error.stack ?? String(error) });
    process.stderr.write(`${error.stack ?? error}\n`);
    setTimeout(() => process.exit(1), 100);
  });
}
