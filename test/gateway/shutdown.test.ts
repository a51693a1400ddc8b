import { request, type ClientRequest } from 'node:http';
import { startGatewayProcess, waitFor } from '../support/process';
import { tempDir } from '../support/temp-dirs';

describe('graceful shutdown', () => {
  it('finishes a request that is in flight when SIGTERM arrives, then exits 0', async () => {
    const gateway = await startGatewayProcess({ DATA_DIR: tempDir('tg-shutdown-') });
    const body = JSON.stringify({ query: '{ health { status } }' });
    const half = Math.floor(body.length / 2);

    // A slow client: headers and half the body now, the rest once the drain has begun. It asks for
    // 100 Continue, which the gateway sends once it has read the headers: from then on the request is in flight.
    let req!: ClientRequest;
    let continued!: () => void;
    const inFlight = new Promise<void>((resolve) => (continued = resolve));
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req = request(
        `${gateway.url}/graphql`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' } },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('continue', continued);
      req.on('error', reject);
      req.write(body.slice(0, half));
    });
    await Promise.race([inFlight, response.then(() => Promise.reject(new Error('answered before the body was complete')))]);
    gateway.child.kill('SIGTERM');
    await waitFor('the drain to begin', async () => gateway.output().includes('shutting down'), 30_000, 20);
    // New connections are refused while the slow request is still running (it cannot end: half its body is missing).
    await waitFor(
      'new connections to be refused',
      () =>
        fetch(`${gateway.url}/healthz`).then(
          () => false,
          () => true,
        ),
      30_000,
      20,
    );
    req.end(body.slice(half));

    const { status, text } = await response;
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({ data: { health: { status: 'ok' } } });
    expect(await gateway.exited).toBe(0);
    expect(gateway.output()).toContain('stopped cleanly');
  });
});
