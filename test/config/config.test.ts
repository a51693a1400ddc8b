import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, environmentWithDotEnv, loadConfig } from '../../src/config/load';
import { printableConfig } from '../../src/config/printable';

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

  describe('printed', () => {
    const env = {
      DATABASE_URL: 'postgresql://tollgraph:db-hunter2@db.internal:5432/tollgraph',
      REDIS_URL: 'redis://:redis-hunter2@cache.internal:6379/0',
      KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9092',
      STRIPE_SECRET_KEY: 'sk_test_stripehunter2',
      STRIPE_WEBHOOK_SECRET: 'whsec_hookhunter2',
    };

    it('masks secret variables and the passwords inside URLs, and keeps where they point', () => {
      const printed = printableConfig(loadConfig(env));
      expect(JSON.stringify(printed)).not.toMatch(/hunter2/);
      expect(printed).toMatchObject({
        DATABASE_URL: 'postgresql://tollgraph:***@db.internal:5432/tollgraph',
        REDIS_URL: 'redis://:***@cache.internal:6379/0',
        KAFKA_BROKERS: ['kafka-1:9092', 'kafka-2:9092'],
        STRIPE_SECRET_KEY: '[set]',
        STRIPE_WEBHOOK_SECRET: '[set]',
        REDIS_KEY_PREFIX: loadConfig(env).REDIS_KEY_PREFIX,
      });
    });

    it('never echoes a secret or a URL password in a configuration error', () => {
      const problems = problemsOf({ DATABASE_URL: 'mysql://tollgraph:db-hunter2@db.internal/tollgraph', STRIPE_SECRET_KEY: 'pk_live_hunter2' });
      expect(problems.join('\n')).not.toMatch(/hunter2/);
      expect(problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/^DATABASE_URL: .*got "mysql:\/\/tollgraph:\*\*\*@db\.internal\/tollgraph"/), expect.stringMatching(/^STRIPE_SECRET_KEY: .*got "\[set\]"/)]),
      );
    });

    it('`tollgraph config check --json` prints no password', async () => {
      const bin = join(__dirname, '..', '..', 'bin', 'tollgraph.js');
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'config', 'check', '--json'], { env: { PATH: process.env.PATH, ...env }, cwd: mkdtempSync(join(tmpdir(), 'tg-config-')) });
      expect(stdout).not.toMatch(/hunter2/);
      expect(JSON.parse(stdout)).toMatchObject({ DATABASE_URL: 'postgresql://tollgraph:***@db.internal:5432/tollgraph', STRIPE_WEBHOOK_SECRET: '[set]' });
    });
  });
});
