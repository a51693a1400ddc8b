#!/usr/bin/env node
// `npm run build:web`: typecheck and build the portal into dist/web, unless nothing it is built
// from has changed since the last build (web/** and package-lock.json, hashed), so the
// `npm run build` that precedes `npm start` and `npm test` stays fast. `--force` rebuilds anyway.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = join(WEB, '..');
const OUT = join(ROOT, 'dist', 'web');
const STAMP = join(OUT, '.build-hash');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : [path];
  });
}

function inputsHash() {
  const hash = createHash('sha256');
  for (const file of [...files(WEB), join(ROOT, 'package-lock.json')].sort()) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function run(label, args) {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build:web: ${label} failed`);
    process.exit(result.status ?? 1);
  }
  return Date.now() - started;
}

const hash = inputsHash();
if (!process.argv.includes('--force') && existsSync(join(OUT, 'index.html')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash) {
  process.exit(0);
}
const typecheckMs = run('typecheck', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(WEB, 'tsconfig.json')]);
const buildMs = run('vite build', [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(WEB, 'vite.config.mts'), '--logLevel', 'warn']);

// Gzip the hashed assets once here, so the gateway serves them compressed without compressing per
// request (src/portal/static.ts serves NAME.gz when the browser accepts gzip).
const gzipStarted = Date.now();
let raw = 0;
let packed = 0;
for (const file of files(join(OUT, 'assets'))) {
  if (!/\.(js|css|svg|ttf|json|map)$/.test(file) || statSync(file).size < 1024) continue;
  const body = readFileSync(file);
  const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(`${file}.gz`, gz);
  raw += body.length;
  packed += gz.length;
}
writeFileSync(STAMP, hash);
const entry = readFileSync(join(OUT, 'index.html'), 'utf8').match(/assets\/index-[\w-]+\.js/)?.[0];
const entrySize = entry ? gzipSync(readFileSync(join(OUT, entry))).length : 0;
console.error(
  `build:web: portal built into dist/web (typecheck ${(typecheckMs / 1000).toFixed(1)} s, bundle ${(buildMs / 1000).toFixed(1)} s, ` +
    `gzip ${((Date.now() - gzipStarted) / 1000).toFixed(1)} s; ${(raw / 1e6).toFixed(1)} MB of assets, ${(packed / 1e6).toFixed(1)} MB gzipped; ` +
    `first load ${(entrySize / 1024).toFixed(0)} KiB gzipped, the explorer loads on demand)`,
);
