import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { PORTAL_CSP, portalRoutes } from '../../src/portal/static';
import { tempDir } from '../support/temp-dirs';

/** The portal's static route on its own, over a build folder made here. */
describe('portal static route', () => {
  const built = tempDir('tg-portal-');
  const script = 'console.log("portal");'.repeat(100);
  let server: Server;
  let base: string;
  let emptyServer: Server;
  let emptyBase: string;

  const listen = (app: express.Express) =>
    new Promise<[Server, string]>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve([s, `http://127.0.0.1:${(s.address() as AddressInfo).port}`]));
    });
  const withFallback = (dir: string) => {
    const app = express();
    app.post('/graphql', (_req, res) => void res.json({ data: {} }));
    app.use(portalRoutes({ dir }));
    app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
    return app;
  };

  beforeAll(async () => {
    mkdirSync(join(built, 'assets'));
    writeFileSync(join(built, 'index.html'), '<!doctype html><title>portal</title>');
    writeFileSync(join(built, 'favicon.svg'), '<svg/>');
    writeFileSync(join(built, '.build-hash'), 'secret-ish');
    writeFileSync(join(built, 'assets', 'index-abc123.js'), script);
    writeFileSync(join(built, 'assets', 'index-abc123.js.gz'), gzipSync(script));
    writeFileSync(join(built, 'assets', 'plain-x1.css'), 'body{}');
    [server, base] = await listen(withFallback(built));
    [emptyServer, emptyBase] = await listen(withFallback(tempDir('tg-portal-empty-')));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => emptyServer.close(resolve));
  });

  it('serves the page at / uncached, with a strict content security policy', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toBe(PORTAL_CSP);
    expect(PORTAL_CSP).toContain("script-src 'self'");
    expect(PORTAL_CSP).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>portal</title>');
  });

  it('sends hashed assets gzipped when accepted, cached for a year', async () => {
    const gzipped = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(gzipped.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(gzipped.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(gzipped.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(await gzipped.text()).toBe(script); // fetch decodes it

    const identity = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(identity.headers.get('content-encoding')).toBeNull();
    expect(await identity.text()).toBe(script);

    const plain = await fetch(`${base}/assets/plain-x1.css`, { headers: { 'accept-encoding': 'gzip' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('leaves everything else to the routes after it: API paths, unknown files, dotfiles, traversal', async () => {
    expect((await fetch(`${base}/graphql`, { method: 'POST' })).status).toBe(200);
    for (const path of ['/nope', '/assets/missing.js', '/.build-hash', '/assets/..%2f.build-hash', '/assets', '/assets/']) {
      const response = await fetch(`${base}${path}`);
      expect({ path, status: response.status, body: await response.json() }).toEqual({ path, status: 404, body: { error: 'not found' } });
    }
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(404);
  });

  it('says how to build the portal when it is not built', async () => {
    const response = await fetch(`${emptyBase}/`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('npm run build');
    expect((await fetch(`${emptyBase}/nope`)).status).toBe(404);
  });
});
