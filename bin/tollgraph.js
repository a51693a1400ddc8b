#!/usr/bin/env node
// The `tollgraph` command: admin and ops tasks on the compiled code (`npm run build` makes dist/).
try {
  require.resolve('../dist/cli/index.js');
} catch {
  process.stderr.write('tollgraph: dist/ is missing; run `npm run build` first.\n');
  process.exit(1);
}
require('../dist/cli/index.js').run(process.argv);
