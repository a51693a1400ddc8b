#!/usr/bin/env node
// The `tollgraph` command: admin and ops tasks on the compiled code (`npm run build` makes dist/).
try {
  require.resolve('../dist/cli/index.js');
} catch {
  process.stderr.write('tollgraph: dist/ is missing; run `npm run build` first.\n');
  process.exit(1);
}
// Tracing first: its instrumentations patch ioredis, pg, express and graphql as the CLI loads them.
require('../dist/cli/tracing-role.js').startTracingForCommand(process.argv);
require('../dist/cli/index.js').run(process.argv);
