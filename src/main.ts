import 'reflect-metadata';
// Before './app' loads: the tracing instrumentations patch ioredis, pg, express and graphql as they are required.
import { startTracingFromEnvironment, tracing } from './ops/tracing';
if (require.main === module) startTracingFromEnvironment('gateway');
import { join } from 'node:path';
import { startGateway, type RunningGateway } from './app';
import { ConfigError, loadConfig } from './config/load';
import type { Config } from './config/schema';
import { createLogger } from './ops/logger';
import { stopOnSignals } from './ops/signals';

/**
 * What the first lines on the terminal say: where to go, and with the embedded start the demo keys.
 * The keys themselves only when `toTerminal` (output captured to a file or a log collector gets
 * the file's path and a command that reads it, never a secret).
 */
export function banner({ url, demoKeys }: Pick<RunningGateway, 'url' | 'demoKeys'>, config: Config, toTerminal: boolean): string {
  const mode = config.DATABASE_URL ? 'Postgres' : `embedded Postgres in ${config.DATA_DIR}`;
  const lines = ['', `  Tollgraph is listening on ${url}/graphql  (${mode})`, `  Developer portal: ${url}/`, ''];
  const file = join(config.DATA_DIR, 'demo-keys.json');
  if (demoKeys && toTerminal) {
    lines.push(
      `  Demo keys (also in ${file}):`,
      `    subscriber (PROFESSIONAL): ${demoKeys.subscriberKey}`,
      `    admin:                     ${demoKeys.adminKey}`,
      '',
      '  Try it:',
      `    curl -s ${url}/graphql -H 'content-type: application/json' \\`,
      `      -H 'authorization: Bearer ${demoKeys.subscriberKey}' \\`,
      `      -d '{"query":"{ me { account { name } plan { code dailyQuota } } }"}'`,
    );
  } else if (demoKeys) {
    lines.push(
      `  Demo keys: in ${file} (not printed: this output is not a terminal).`,
      '',
      '  Try it:',
      `    KEY=$(node -p "require('${file.startsWith('/') ? file : `./${file}`}').subscriberKey")`,
      `    curl -s ${url}/graphql -H 'content-type: application/json' \\`,
      `      -H "authorization: Bearer $KEY" \\`,
      `      -d '{"query":"{ me { account { name } plan { code dailyQuota } } }"}'`,
    );
  } else {
    lines.push(
      '  Try it:',
      `    curl -s ${url}/graphql -H 'content-type: application/json' \\`,
      `      -d '{"query":"{ health { status version uptimeSeconds } }"}'`,
    );
  }
  return `${lines.join('\n')}\n\n`;
}

/** Runs the gateway until SIGTERM/SIGINT, then drains within SHUTDOWN_TIMEOUT_MS and exits (stopOnSignals, as every role). */
export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\nSee .env.example for every variable and its default.\n`);
    process.exit(2);
  }
  const logger = createLogger(config);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

  const gateway = await startGateway(config, logger).catch((error) => {
    logger.fatal({ err: error }, 'could not start');
    logger.flush();
    process.exit(1);
  });
  logger.info({ url: `${gateway.url}/graphql`, tracing: tracing.on ? tracing.service : 'off' }, 'tollgraph ready');
  process.stderr.write(banner(gateway, config, process.stderr.isTTY === true));

  stopOnSignals(logger, config.SHUTDOWN_TIMEOUT_MS, { stopping: 'shutting down: draining in-flight requests', stopped: 'stopped cleanly' }, () =>
    gateway.stop(),
  );
}

if (require.main === module) void main();
