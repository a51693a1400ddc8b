import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, waitFor } from '../support/process';

describe('graceful shutdown', () => {
  it('finishes a request that is in flight when SIGTERM arrives, then exits 0', async () => {
    const gateway = await startGatewayProcess({ DATA_DIR: mkdtempSync(join(tmpdir(), 'tg-shutdown-')) });
    const body = JSON.stringify({ query: '{ health { status } }' });
    const half = Math.floor(body.length / 2);

    // A slow client: headers and half the body now, the rest after the signal.
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, half));
      setTimeout(() => req.end(body.slice(half)), 1500);
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    gateway.child.kill('SIGTERM');
    await waitFor('the drain to begin', async () => gateway.output().includes('shutting down'), 5000, 20);
    // New connections are refused while the slow request is still running.
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();

    const { status, text } = await response;
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ data: { health: { status: 'ok' } } });
    expect(await gateway.exited).toBe(0);
    expect(gateway.output()).toContain('stopped cleanly');
  });
});
