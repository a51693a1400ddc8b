import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, environmentWithDotEnv, loadConfig } from '../../src/config/load';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('config', () => {
  it('selects the embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ HOST: '127.0.0.1', PORT: 4000, DATA_DIR: '.data', TRANSACTIONS_PARTITIONS: 10 });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.KAFKA_BROKERS).toBeUndefined();
  });

  it('names every bad variable and the form it expects, in one error', () => {
    const problems = problemsOf({ PORT: 'abc', REDIS_URL: 'nope', KAFKA_BROKERS: '127.0.0.1:9092,broker', LOG_LEVEL: 'loud' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: expected a TCP port number \(1-65535\) \(got "abc"\)$/),
        expect.stringMatching(/^REDIS_URL: expected a URL like redis:\/\/127\.0\.0\.1:6379 \(got "nope"\)$/),
        expect.stringMatching(/^KAFKA_BROKERS: expected a comma-separated list of host:port/),
        expect.stringMatching(/^LOG_LEVEL: expected one of fatal, error/),
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('rejects ports out of range and non-Postgres database URLs', () => {
    expect(problemsOf({ PORT: '70000' })).toEqual([expect.stringMatching(/^PORT: /)]);
    expect(problemsOf({ DATABASE_URL: 'mysql://x@y/z' })).toEqual([expect.stringMatching(/^DATABASE_URL: expected a URL like postgresql:/)]);
  });

  it('parses service settings and treats empty strings as unset', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', DATABASE_URL: '', PORT: '8080', MIGRATE_ON_START: 'false' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PORT).toBe(8080);
    expect(config.MIGRATE_ON_START).toBe(false);
  });

  it('reads .env under the real environment, which wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=5000\nHOST=0.0.0.0\n# a comment\n');
    const env = environmentWithDotEnv({ PORT: '6000' }, file);
    expect(loadConfig(env)).toMatchObject({ PORT: 6000, HOST: '0.0.0.0' });
    expect(environmentWithDotEnv({ PORT: '1' }, join(dir, 'missing'))).toEqual({ PORT: '1' });
  });
});
