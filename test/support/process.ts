import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Linux's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every common build). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

const SERVICE_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'STRIPE_SECRET_KEY', 'STRIPE_API_BASE', 'STRIPE_WEBHOOK_SECRET', 'NODE_OPTIONS'];

/** Only what a newcomer's shell would have: no service variables leak in from the test run. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of SERVICE_VARIABLES) delete env[name];
  // Shedding off unless a test asks for it (see SHEDDING_OFF in harness.ts).
  return { ...env, LOG_PRETTY: 'false', LOG_LEVEL: 'info', OVERLOAD_SHEDDING: 'false', ...extra };
}

/** Runs the built gateway (`node dist/main.js`, what `npm start` runs) in a child process. */
export function runBuilt(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): { child: ChildProcess; output(): string; exited: Promise<number | string> } {
  const child = spawn(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Starts a child on a port `freePort()` found, as `start(port)` spawns it: the port is the child's
 * once `listening(port, output)` finds its own words that it listens there. Another test file's
 * process may take the same free port between the check and the child's bind, and then answers the
 * child's probes: a child that exits with EADDRINUSE is started again on another port.
 */
async function onFreePort<T extends ReturnType<typeof runBuilt>>(
  what: string,
  port: number | undefined,
  start: (port: number) => T,
  probe: (port: number) => Promise<boolean>,
  listening: (port: number, output: string) => boolean,
): Promise<{ port: number; run: T; ended: () => boolean }> {
  for (let attempt = 1; ; attempt++) {
    const chosen = port ?? (await freePort());
    const run = start(chosen);
    const closed = new Promise((resolve) => run.child.once('close', resolve));
    let ended = false;
    const exitedEarly = run.exited.then((code) => {
      ended = true;
      throw new Error(`exited early (${code})`);
    });
    exitedEarly.catch(() => undefined);
    try {
      await Promise.race([waitFor(what, async () => (await probe(chosen)) && listening(chosen, run.output()), 60_000), exitedEarly]);
      return { port: chosen, run, ended: () => ended };
    } catch (error) {
      run.child.kill('SIGKILL');
      await closed; // all of its output read
      if (port === undefined && attempt < 3 && /EADDRINUSE/.test(run.output())) continue;
      throw new Error(`${what}: ${(error as Error).message}\n--- output ---\n${run.output()}`);
    }
  }
}

/**
 * A worker role (`tollgraph risk consume`, `tollgraph worker archive`) in a child process, with
 * its ops routes on a free port, once `/readyz` says it is running.
 */
export async function startWorkerProcess(args: string[], env: Record<string, string>) {
  const { port, run, ended } = await onFreePort(
    `\`tollgraph ${args.join(' ')}\` to be ready`,
    undefined,
    (port) => runBuilt('bin/tollgraph.js', { ...env, LOG_LEVEL: 'info' }, [...args, '--metrics-port', String(port)]),
    async (port) => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
    (port, output) => output.includes(`"metricsPort":${port},`),
  );
  return {
    ...run,
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (!ended()) run.child.kill(signal);
      return run.exited;
    },
  };
}

/** Starts the gateway and waits until `/healthz` answers. */
export async function startGatewayProcess(env: Record<string, string>): Promise<RunningProcess> {
  const { port, run, ended } = await onFreePort(
    'the gateway to answer /healthz',
    env.PORT ? Number(env.PORT) : undefined,
    (port) => runBuilt('dist/main.js', { PORT: String(port), ...env }),
    async (port) => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
    (port, output) => output.includes(`listening on http://127.0.0.1:${port}/graphql`),
  );
  return {
    ...run,
    url: `http://127.0.0.1:${port}`,
    stop: async (signal = 'SIGTERM') => {
      if (!ended()) run.child.kill(signal);
      return run.exited;
    },
  };
}

export async function graphql(url: string, query: string, init: { headers?: Record<string, string>; variables?: unknown } = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify({ query, variables: init.variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: any[] } };
}
