// The build step of `npm start` and `npm run bench` (the benchmarks run the built worker roles):
// says what it does, and skips the build when dist/ is newer than every source it is made from
// (the first start builds for about 40 s; later ones start at once).
// `--check`: say whether a build is needed (exit 1) without building.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const STAMP = process.env.TOLLGRAPH_BUILD_STAMP ?? join(root, 'dist', '.build-stamp');
const checkOnly = process.argv.includes('--check');
const role = process.env.npm_lifecycle_event === 'bench' ? 'bench' : 'start';
const INPUTS = [
  'src',
  'web/src',
  'web/public',
  'web/index.html',
  'web/build.mjs',
  'web/vite.config.mts',
  'prisma',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** The newest modification time under `path` (ms), generated code left out. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'generated' || entry === 'node_modules') continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const sources = Math.max(...INPUTS.map((input) => newest(join(root, input))));
if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= sources) {
  process.stderr.write(`[${role}] dist/ is up to date with the sources: starting\n`);
  process.exit(0);
}
const why = existsSync(STAMP) ? 'sources changed' : 'first start';
if (checkOnly) {
  process.stderr.write(`[${role}] a build is needed (${why})\n`);
  process.exit(1);
}
process.stderr.write(`[${role}] building Tollgraph (${why}: TypeScript and the portal, about 40 s)…\n`);
const began = Date.now();
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
process.stderr.write(`[${role}] built in ${Math.round((Date.now() - began) / 1000)} s: starting\n`);
