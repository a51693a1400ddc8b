import { spawn } from 'node:child_process';
import { join } from 'node:path';

const DIST = join(__dirname, '..', '..', 'dist');

/**
 * A process role under stopOnSignals (the gateway and every worker use it), with a stop that
 * `behaves` as told; resolves with its exit code and output once it has exited.
 */
function role(behaves: 'resolves' | 'rejects' | 'hangs', signal: NodeJS.Signals) {
  const script = `
    const { createLogger } = require(${JSON.stringify(join(DIST, 'ops/logger.js'))});
    const { stopOnSignals } = require(${JSON.stringify(join(DIST, 'ops/signals.js'))});
    const logger = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false });
    let stops = 0;
    stopOnSignals(logger, 200, { stopping: 'role stopping', stopped: 'role stopped' }, async () => {
      stops++;
      logger.info({ stops }, 'stop called');
      // a second signal while the first one's stop is under way
      process.kill(process.pid, 'SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (${JSON.stringify(behaves)} === 'rejects') throw new Error('could not let go');
      if (${JSON.stringify(behaves)} === 'hangs') await new Promise(() => setInterval(() => undefined, 1000));
    });
    setInterval(() => undefined, 1000);
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (chunk.toString().includes('ready')) child.kill(signal);
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('stopOnSignals: how every process role ends', () => {
  it('stops once on SIGTERM, though another signal comes while stopping, and exits 0', async () => {
    const { code, output } = await role('resolves', 'SIGTERM');
    expect(code).toBe(0);
    expect(output.match(/"msg":"stop called"/g)).toHaveLength(1);
    expect(output).toContain('"msg":"role stopping"');
    expect(output).toContain('"msg":"role stopped"');
  });

  it('exits 1 and says why when stopping fails', async () => {
    const { code, output } = await role('rejects', 'SIGINT');
    expect(code).toBe(1);
    expect(output).toContain('could not let go');
    expect(output).toContain('"msg":"error during shutdown"');
    expect(output).not.toContain('"msg":"role stopped"');
  });

  it('exits 1 after the deadline when stopping hangs', async () => {
    const { code, output } = await role('hangs', 'SIGTERM');
    expect(code).toBe(1);
    expect(output).toContain('"msg":"shutdown took too long; exiting"');
  }, 30_000);
});
