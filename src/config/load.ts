import { existsSync, openSync, closeSync, fstatSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { configSchema, type Config } from './schema';
import { SECRET_NAME, withoutPassword } from './printable';
import { tlsProblems } from './tls';

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

/**
 * Variables that may carry a secret (a key, or a password inside a URL) and so may also be given
 * as `NAME_FILE`, the path of a file holding the value: the Docker and Kubernetes secrets
 * convention, which keeps secrets out of the environment (and so out of `ps`, crash reports and
 * child processes).
 */
export const FILE_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SSL_KEY_PASSWORD',
  'REDIS_CLUSTER_PASSWORD',
  'ARCHIVE_S3_SECRET_ACCESS_KEY',
  'METRICS_TOKEN',
] as const;

/** Larger than any key or URL: a path pointing at the wrong file fails before it is read. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * The environment with every `NAME_FILE` replaced by `NAME` read from that file (one trailing
 * newline dropped, as `echo` and editors leave it), the names that came from files, and what went
 * wrong: both forms set, a file that cannot be read, a `_FILE` for a variable that is not secret.
 */
function readSecretFiles(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; fromFile: Set<string>; problems: string[] } {
  const out: NodeJS.ProcessEnv = { ...env };
  const fromFile = new Set<string>();
  const problems: string[] = [];
  for (const [variable, path] of Object.entries(env)) {
    if (!variable.endsWith('_FILE') || path === undefined || path === '') continue;
    const name = variable.slice(0, -'_FILE'.length);
    if (!(FILE_VARIABLES as readonly string[]).includes(name)) {
      if (name in configSchema.shape)
        problems.push(`${variable}: only secrets can be read from files (${FILE_VARIABLES.map((secret) => `${secret}_FILE`).join(', ')}); set ${name} itself`);
      continue;
    }
    delete out[variable];
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${variable}: ${name} is set too; set one of them`);
      continue;
    }
    try {
      out[name] = readSmallFile(path).replace(/\r?\n$/, '');
      fromFile.add(name);
    } catch (error) {
      problems.push(`${variable}: expected a readable file holding ${name} (${path}: ${(error as Error).message})`);
    }
  }
  return { env: out, fromFile, problems };
}

function readSmallFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_SECRET_FILE_BYTES) throw new Error(`${stat.size} bytes; a secret file holds at most ${MAX_SECRET_FILE_BYTES}`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Validates every variable at once, so one run names every mistake. */
export function loadConfig(source: NodeJS.ProcessEnv = environmentWithDotEnv(process.env)): Config {
  const { env, fromFile, problems } = readSecretFiles(source);
  const result = configSchema.safeParse(env);
  // The certificate and key files are checked once the settings naming them are valid.
  if (result.success) problems.push(...tlsProblems(result.data));
  if (result.success && problems.length === 0) return Object.freeze(result.data);
  for (const issue of result.error?.issues ?? []) {
    const name = String(issue.path[0] ?? '(environment)');
    // A secret is never echoed, nor anything read from a secret file; a URL's password is masked.
    const value = env[name];
    const given = value === undefined ? undefined : SECRET_NAME.test(name) ? '[set]' : fromFile.has(name) ? `[from ${name}_FILE]` : withoutPassword(value);
    const shown = given === undefined ? 'unset' : `got ${JSON.stringify(given.length > 60 ? `${given.slice(0, 60)}…` : given)}`;
    problems.push(`${name}: expected ${issue.message} (${shown})`);
  }
  throw new ConfigError(problems);
}
