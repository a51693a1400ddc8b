import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { configSchema, type Config } from './schema';
import { SECRET_NAME, withoutPassword } from './printable';

/** Thrown when the environment does not describe a runnable configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads `.env` (if present) under the real environment: a variable already set wins, as with
 * every dotenv tool, so deployments can override a checked-out `.env`.
 */
export function environmentWithDotEnv(env: NodeJS.ProcessEnv, dotEnvPath = '.env'): NodeJS.ProcessEnv {
  if (!existsSync(dotEnvPath)) return env;
  return { ...parseEnv(readFileSync(dotEnvPath, 'utf8')), ...env };
}

/** Validates every variable at once, so one run names every mistake. */
export function loadConfig(env: NodeJS.ProcessEnv = environmentWithDotEnv(process.env)): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return Object.freeze(result.data);
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    // A secret is never echoed; a URL's password is masked.
    const given = env[name] === undefined ? undefined : SECRET_NAME.test(name) ? '[set]' : withoutPassword(env[name]!);
    const shown = given === undefined ? 'unset' : `got ${JSON.stringify(given.length > 60 ? `${given.slice(0, 60)}…` : given)}`;
    return `${name}: expected ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}
