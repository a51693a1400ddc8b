import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeCommand } from '../../src/limits/edge';
import { freePort, ROOT } from './common';

/** Debian's haproxy, installed by scripts/services.sh up. */
const HAPROXY = process.env.HAPROXY_BIN ?? (existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy');
const CONFIG = join(ROOT, 'deploy', 'edge', 'haproxy.cfg');

export interface EdgeOptions {
  /** host:port of the gateway process behind it. */
  gateway: string;
  /** Requests the gateway runs at once (EDGE_GATEWAY_MAXCONN). */
  maxConnections: number;
  /** How long a request may wait for the gateway, in HAProxy's units (EDGE_QUEUE_TIMEOUT), e.g. "50ms". */
  queueTimeout: string;
  /** The priority map file (EDGE_PRIORITY_MAP): the gateways fill it through the runtime API. */
  map: string;
  /** host:port of the runtime API (EDGE_RUNTIME_BIND; the gateways' EDGE_RUNTIME_API). */
  runtimeApi: string;
}

export interface Edge {
  url: string;
  runtimeApi: string;
  stop(): Promise<void>;
}

/** How often a start whose port another process took meanwhile is tried again. */
const BIND_ATTEMPTS = 5;

/**
 * HAProxy with the repository's configuration (deploy/edge/haproxy.cfg), as a deployment runs it.
 * A port found free can be taken before HAProxy binds it (an outgoing connection of another test
 * process gets it as its local port): such a start is tried again, with a new port for clients
 * and, a moment later, the same runtime API (the gateways were told it).
 */
export async function startEdge(options: EdgeOptions): Promise<Edge> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEdgeOnce(options);
    } catch (error) {
      if (attempt >= BIND_ATTEMPTS || !(error instanceof Error) || !error.message.includes('Address already in use')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function startEdgeOnce(options: EdgeOptions): Promise<Edge> {
  const port = await freePort();
  const child = spawn(HAPROXY, ['-db', '-f', CONFIG], {
    env: {
      PATH: process.env.PATH,
      EDGE_BIND: `127.0.0.1:${port}`,
      EDGE_GATEWAY: options.gateway,
      EDGE_GATEWAY_MAXCONN: String(options.maxConnections),
      EDGE_QUEUE_TIMEOUT: options.queueTimeout,
      EDGE_PRIORITY_MAP: options.map,
      EDGE_RUNTIME_BIND: options.runtimeApi,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (const began = Date.now(); ; ) {
    const info = await runtimeCommand(options.runtimeApi, 'show info\n').catch(() => '');
    if (info.includes('Name: HAProxy')) break;
    if (child.exitCode !== null || Date.now() - began > 10_000) {
      await stop();
      throw new Error(`haproxy (${HAPROXY}) did not start: ${output.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}`, runtimeApi: options.runtimeApi, stop };
}
