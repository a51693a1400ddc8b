#!/usr/bin/env node
// `prisma generate`, offline and only when needed. Run by `npm run build` before tsc.
//
// - Offline: every Prisma CLI command first makes sure the native schema engine is present and
//   downloads it from binaries.prisma.sh otherwise, which these machines cannot reach (and the
//   install scripts of prisma/@prisma/engines may never have run). `generate` never executes
//   that engine, so we point PRISMA_SCHEMA_ENGINE_BINARY at a stub that only explains itself,
//   send any download that would still be attempted to a closed local port (fails at once
//   instead of hanging), and turn off the update check. The client generator itself is
//   WebAssembly inside the prisma package; the generated client runs on driver adapters.
// - Fast: the output folder keeps a stamp (hash of schema.prisma and the prisma and
//   @prisma/client versions); when it matches and the client is there, nothing runs.
// - Safe when two builds start at once (tests spawning `npm start`): a lock directory
//   serialises them, and the second one finds the fresh stamp.
//
// Usage: node scripts/prisma-generate.mjs [--force]

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const schemaPath = join(root, 'prisma', 'schema.prisma');
const force = process.argv.includes('--force');

function fail(message) {
  console.error(`prisma-generate: ${message}`);
  process.exit(1);
}

function packageVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
}

/** The generator's `output`, resolved like Prisma does (relative to the schema file). */
function outputDir(schema) {
  const generator = schema.match(/generator\s+\w+\s*\{([^}]*)\}/);
  const output = generator?.[1].match(/^\s*output\s*=\s*"([^"]+)"/m)?.[1];
  if (!output) fail('schema.prisma has no generator output');
  return resolve(dirname(schemaPath), output);
}

if (!existsSync(schemaPath)) fail(`${relative(process.cwd(), schemaPath)} not found`);
const schema = readFileSync(schemaPath, 'utf8');
const outDir = outputDir(schema);
const stampPath = join(outDir, '.schema-hash');
const prismaVersion = packageVersion('prisma');
const stamp = createHash('sha256')
  .update(schema)
  .update(`\0prisma@${prismaVersion}\0@prisma/client@${packageVersion('@prisma/client')}`)
  .digest('hex');

const upToDate = () => !force && existsSync(join(outDir, 'client.ts')) && existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === stamp;

if (upToDate()) process.exit(0);

// --- lock (a directory: mkdir is atomic) ---------------------------------------------------
const lockDir = join(dirname(outDir), '.prisma-generate.lock');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function acquireLock() {
  mkdirSync(dirname(lockDir), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let age = 0;
      try {
        age = Date.now() - statSync(lockDir).mtimeMs;
      } catch {
        continue; // released between our two calls
      }
      if (age > 60_000) {
        rmSync(lockDir, { recursive: true, force: true }); // left by a killed run
        continue;
      }
      if (Date.now() > deadline) fail(`timed out waiting for ${lockDir}`);
      sleep(100);
    }
  }
}
acquireLock();
const release = () => rmSync(lockDir, { recursive: true, force: true });
process.on('exit', release);

if (upToDate()) process.exit(0); // another build generated it while we waited

// --- offline environment -------------------------------------------------------------------
const stubDir = join(root, 'node_modules', '.cache', 'tollgraph');
const stub = join(stubDir, 'prisma-schema-engine-offline');
if (!existsSync(stub)) {
  mkdirSync(stubDir, { recursive: true });
  writeFileSync(
    stub,
    '#!/bin/sh\n' +
      'echo "Prisma\'s native schema engine is not installed (offline machine)." >&2\n' +
      'echo "Migrations: node scripts/migration-diff.mjs <name>; applying: src/db/migrate.ts." >&2\n' +
      'exit 1\n',
  );
}
chmodSync(stub, 0o755);

const env = { ...process.env };
const setDefault = (name, value) => {
  if (!env[name]) env[name] = value;
};
setDefault('PRISMA_SCHEMA_ENGINE_BINARY', stub);
setDefault('PRISMA_ENGINES_MIRROR', 'http://127.0.0.1:9'); // discard port: refused at once
setDefault('PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING', '1');
setDefault('CHECKPOINT_DISABLE', '1'); // no version check against checkpoint.prisma.io
setDefault('PRISMA_HIDE_UPDATE_MESSAGE', '1');
setDefault('PRISMA_DISABLE_WARNINGS', '1');

// --- generate ------------------------------------------------------------------------------
const prismaPkg = JSON.parse(readFileSync(require.resolve('prisma/package.json'), 'utf8'));
const cli = join(dirname(require.resolve('prisma/package.json')), prismaPkg.bin.prisma);
const started = Date.now();
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', schemaPath], {
  cwd: root,
  env,
  encoding: 'utf8',
  timeout: 120_000,
});
if (result.error) fail(`could not run prisma generate: ${result.error.message}`);
if (result.status !== 0 || !existsSync(join(outDir, 'client.ts'))) {
  process.stderr.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  fail(`prisma generate failed (exit ${result.status ?? result.signal})`);
}
writeFileSync(stampPath, `${stamp}\n`);
console.log(`prisma-generate: Prisma Client ${prismaVersion} generated in ${relative(root, outDir)} ` + `(${Date.now() - started} ms)`);
