import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

/**
 * The portal's types come from schema.graphql and its own operations (GraphQL Code Generator),
 * so a changed field breaks the portal's typecheck instead of its users. Regenerate with
 * `npm run codegen:web`.
 */
describe('web/src/generated/graphql.ts', () => {
  it('is what the code generator makes of schema.graphql and the portal’s operations', async () => {
    const run = promisify(execFile)(
      process.execPath,
      [join(ROOT, 'node_modules', '@graphql-codegen', 'cli', 'esm', 'bin.js'), '--config', 'web/codegen.yml', '--check'],
      { cwd: ROOT },
    );
    await expect(run).resolves.toBeDefined();
  }, 60_000);
});
