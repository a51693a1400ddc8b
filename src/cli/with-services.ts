import { prepareServices } from '../app';
import { CLI_ACTOR } from '../audit/audit';
import { ConfigError, loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { createLogger } from '../ops/logger';
import type { Services } from '../services';

export { CLI_ACTOR };

/** Loads the configuration or exits 2 naming every bad variable, as the gateway does. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

/**
 * Runs one CLI command on the same services the gateway uses (so a revocation reaches every
 * gateway through Redis), logging only warnings so stdout stays the command's own output.
 */
export async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const services = await prepareServices(config, createLogger({ LOG_LEVEL: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn', LOG_PRETTY: false }));
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

/** `--json` prints machine-readable output; otherwise a plain table for people. */
export function output(json: boolean | undefined, value: unknown, rows: Array<Record<string, unknown>>): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const columns = Object.keys(rows[0]);
  const text = (cell: unknown) => (cell instanceof Date ? cell.toISOString() : cell === null || cell === undefined ? '-' : String(cell));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => text(row[column]).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(columns), ...rows.map((row) => line(columns.map((column) => text(row[column]))))].join('\n')}\n`);
}
