import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import express, { Router, type Response } from 'express';

/** Where `npm run build:web` puts the portal (from src/portal or dist/portal alike). */
export const PORTAL_DIR = join(__dirname, '..', '..', 'dist', 'web');

/**
 * The portal talks only to this gateway (/graphql over HTTP and WebSocket); its scripts are
 * same-origin files, never inline. Monaco (GraphiQL's editor) needs inline styles and
 * workers from blob: URLs.
 */
export const PORTAL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const ASSET_NAME = /^[\w.-]+$/;

function pageHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', PORTAL_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Tollgraph</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>Tollgraph</h1><p>The developer portal is not built. Run <code>npm run build</code> (or <code>npm run build:web</code>)
and reload. The API is at <a href="/graphql">/graphql</a>.</p></body></html>`;

/**
 * The developer portal, a static build served at `/` (hash routes, so no fallback route): the
 * page itself is never cached, the content-hashed files under /assets/ are cached for a year and
 * sent gzipped when the build made a .gz beside them. Anything else falls through to the 404.
 */
export function portalRoutes({ dir = PORTAL_DIR }: { dir?: string } = {}): Router {
  const router = Router();
  const assets = join(dir, 'assets');

  router.use('/assets', (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const name = req.path.slice(1);
    if (!ASSET_NAME.test(name) || !req.acceptsEncodings('gzip')) return next();
    const gzipped = join(assets, `${name}.gz`);
    if (!existsSync(gzipped)) return next();
    res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Vary', 'Accept-Encoding');
    res.type(extname(name));
    res.sendFile(gzipped, { headers: { 'Cache-Control': 'public, max-age=31536000, immutable' }, dotfiles: 'deny' }, (error) => error && next(error));
  });

  router.use(
    express.static(dir, {
      index: 'index.html',
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res, path) => {
        if (path.startsWith(assets)) {
          res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
          res.setHeader('Vary', 'Accept-Encoding');
        } else if (path.endsWith('.html')) {
          res.setHeader('Cache-Control', 'no-cache');
          pageHeaders(res);
        } else {
          res.setHeader('Cache-Control', 'public, max-age=3600');
        }
      },
    }),
  );

  router.get('/', (_req, res) => {
    pageHeaders(res);
    res.status(404).type('html').send(NOT_BUILT);
  });
  return router;
}
