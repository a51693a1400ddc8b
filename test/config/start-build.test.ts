import { spawnSync } from 'node:child_process';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp-dirs';

const ROOT = join(__dirname, '..', '..');
const check = (env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['scripts/build-if-stale.mjs', '--check'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });

/** `npm start`'s build step (prestart): it says what it does, and a built tree starts at once. */
describe('the start build', () => {
  it('starts without building when dist/ is newer than its sources (npm test built it)', () => {
    const run = check();
    expect(run.stderr).toContain('dist/ is up to date with the sources: starting');
    expect(run.status).toBe(0);
  });

  it('builds, and says so, when a source is newer than the last build or there was none', () => {
    const stamp = join(tempDir('tg-stamp-'), '.build-stamp');
    expect(check({ TOLLGRAPH_BUILD_STAMP: stamp })).toMatchObject({ status: 1, stderr: '[start] a build is needed (first start)\n' });
    writeFileSync(stamp, 'old');
    utimesSync(stamp, new Date('2001-01-01'), new Date('2001-01-01'));
    expect(check({ TOLLGRAPH_BUILD_STAMP: stamp })).toMatchObject({ status: 1, stderr: '[start] a build is needed (sources changed)\n' });
  });
});
