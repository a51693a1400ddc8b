import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { environmentWithDotEnv, loadConfig } from '../../src/config/load';
import { printableConfig } from '../../src/config/printable';
import { configProblems } from '../support/config';
import { tempDir } from '../support/temp-dirs';

/** The problems of a configuration that must be rejected. */
function problemsOf(env: Record<string, string>): string[] {
  const problems = configProblems(env);
  if (problems.length === 0) throw new Error('expected the configuration to be rejected');
  return problems;
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

  it("takes the edge's runtime API and priority map together, naming the half that is missing", () => {
    expect(problemsOf({ EDGE_RUNTIME_API: '127.0.0.1:9999' })).toEqual([expect.stringMatching(/^EDGE_PRIORITY_MAP: .*EDGE_RUNTIME_API and EDGE_PRIORITY_MAP/)]);
    expect(problemsOf({ EDGE_PRIORITY_MAP: '/etc/haproxy/priorities.map' })).toEqual([expect.stringMatching(/^EDGE_RUNTIME_API: /)]);
    expect(problemsOf({ EDGE_RUNTIME_API: 'localhost', EDGE_PRIORITY_MAP: '/m' })).toEqual([
      expect.stringMatching(/^EDGE_RUNTIME_API: expected host:port of the edge's runtime API/),
    ]);
    expect(loadConfig({ EDGE_RUNTIME_API: '127.0.0.1:9999', EDGE_PRIORITY_MAP: '/m' })).toMatchObject({
      EDGE_RUNTIME_API: '127.0.0.1:9999',
      EDGE_RESYNC_MS: 30_000,
    });
  });

  it('takes a usage spool in memory only with the disk it is mirrored to and the interval it is flushed on', () => {
    const memory = { METERING_SPOOL_MEMORY_DIR: '/dev/shm/tollgraph-spool' };
    expect(problemsOf(memory)).toEqual([expect.stringMatching(/^METERING_SPOOL_MEMORY_DIR: expected METERING_SPOOL_DIR alongside it/)]);
    expect(problemsOf({ ...memory, METERING_SPOOL_DIR: '/var/lib/tollgraph/spool' })).toEqual([
      expect.stringMatching(/^METERING_SPOOL_FSYNC_MS: expected milliseconds above 0 with METERING_SPOOL_MEMORY_DIR/),
    ]);
    expect(loadConfig({ ...memory, METERING_SPOOL_DIR: '/var/lib/tollgraph/spool', METERING_SPOOL_FSYNC_MS: '20' })).toMatchObject({
      METERING_SPOOL_MEMORY_DIR: '/dev/shm/tollgraph-spool',
      METERING_SPOOL_FSYNC_MS: 20,
    });
  });

  it('takes slots reserved for ENTERPRISE at the edge only with the runtime API and the maxconn they are taken from', () => {
    const edge = { EDGE_RUNTIME_API: '127.0.0.1:9999', EDGE_PRIORITY_MAP: '/m' };
    expect(problemsOf({ EDGE_ENTERPRISE_RESERVE: '2', EDGE_GATEWAY_MAXCONN: '4' })).toEqual([
      expect.stringMatching(/^EDGE_ENTERPRISE_RESERVE: .*EDGE_RUNTIME_API/),
    ]);
    expect(problemsOf({ ...edge, EDGE_ENTERPRISE_RESERVE: '2' })).toEqual([
      expect.stringMatching(/^EDGE_GATEWAY_MAXCONN: expected the maxconn the edge gives this process/),
    ]);
    expect(problemsOf({ ...edge, EDGE_ENTERPRISE_RESERVE: '4', EDGE_GATEWAY_MAXCONN: '4' })).toEqual([
      expect.stringMatching(/^EDGE_ENTERPRISE_RESERVE: expected fewer slots than EDGE_GATEWAY_MAXCONN \(4\)/),
    ]);
    expect(problemsOf({ ...edge, EDGE_SERVER: 'gateway' })).toEqual([expect.stringMatching(/^EDGE_SERVER: expected this process's server .*backend\/server/)]);
    expect(loadConfig({ ...edge, EDGE_ENTERPRISE_RESERVE: '2', EDGE_GATEWAY_MAXCONN: '4' })).toMatchObject({
      EDGE_ENTERPRISE_RESERVE: 2,
      EDGE_GATEWAY_MAXCONN: 4,
      EDGE_RESERVE_IDLE_MS: 5_000,
      EDGE_SERVER: 'gateway/gateway',
    });
    expect(loadConfig(edge)).toMatchObject({ EDGE_ENTERPRISE_RESERVE: 0 });
  });

  it("takes the usage spool's directory and cadence, refusing a staleness a slow tick could reach", () => {
    expect(loadConfig({ METERING_SPOOL_DIR: '/var/lib/tollgraph/spool' })).toMatchObject({
      METERING_SPOOL_DIR: '/var/lib/tollgraph/spool',
      METERING_SPOOL_SHIP_MS: 250,
      METERING_SPOOL_STALE_MS: 60_000,
    });
    expect(loadConfig({ METERING_SPOOL_DIR: '' }).METERING_SPOOL_DIR).toBeUndefined();
    expect(problemsOf({ METERING_SPOOL_STALE_MS: '1000' })).toEqual([expect.stringMatching(/^METERING_SPOOL_STALE_MS: expected milliseconds, at least 5000/)]);
  });

  it('parses service settings and treats empty strings as unset', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', DATABASE_URL: '', PORT: '8080', MIGRATE_ON_START: 'false' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PORT).toBe(8080);
    expect(config.MIGRATE_ON_START).toBe(false);
  });

  it('reads .env under the real environment, which wins', () => {
    const dir = tempDir('tg-env-');
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=5000\nHOST=0.0.0.0\n# a comment\n');
    const env = environmentWithDotEnv({ PORT: '6000' }, file);
    expect(loadConfig(env)).toMatchObject({ PORT: 6000, HOST: '0.0.0.0' });
    expect(environmentWithDotEnv({ PORT: '1' }, join(dir, 'missing'))).toEqual({ PORT: '1' });
  });

  describe('secrets from files (NAME_FILE)', () => {
    const dir = tempDir('tg-secrets-');
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };

    it('reads each secret variable from the file NAME_FILE names, without its trailing newline', () => {
      const config = loadConfig({
        DATABASE_URL_FILE: file('db', 'postgresql://tollgraph:db-hunter2@db.internal:5432/tollgraph\n'),
        REDIS_URL_FILE: file('redis', 'rediss://:redis-hunter2@cache.internal:6380/0'),
        STRIPE_SECRET_KEY_FILE: file('stripe', 'sk_live_stripehunter2\r\n'),
        STRIPE_WEBHOOK_SECRET_FILE: file('hook', 'whsec_hookhunter2\n'),
      });
      expect(config).toMatchObject({
        DATABASE_URL: 'postgresql://tollgraph:db-hunter2@db.internal:5432/tollgraph',
        REDIS_URL: 'rediss://:redis-hunter2@cache.internal:6380/0',
        STRIPE_SECRET_KEY: 'sk_live_stripehunter2',
        STRIPE_WEBHOOK_SECRET: 'whsec_hookhunter2',
      });
      expect(JSON.stringify(printableConfig(config))).not.toMatch(/hunter2/);
    });

    it('refuses both forms at once, unreadable or oversized files and files for variables that are not secret, naming each', () => {
      const problems = problemsOf({
        STRIPE_SECRET_KEY: 'sk_test_a',
        STRIPE_SECRET_KEY_FILE: file('both', 'sk_test_b'),
        DATABASE_URL_FILE: join(dir, 'missing'),
        REDIS_URL_FILE: dir,
        STRIPE_WEBHOOK_SECRET_FILE: file('huge', 'w'.repeat(70_000)),
        PORT_FILE: file('port', '4000'),
      });
      expect(problems).toEqual([
        expect.stringMatching(/^STRIPE_SECRET_KEY_FILE: STRIPE_SECRET_KEY is set too; set one of them$/),
        expect.stringMatching(/^DATABASE_URL_FILE: expected a readable file holding DATABASE_URL \(.*missing: ENOENT/),
        expect.stringMatching(/^REDIS_URL_FILE: expected a readable file holding REDIS_URL \(.*not a regular file\)$/),
        expect.stringMatching(/^STRIPE_WEBHOOK_SECRET_FILE: expected a readable file .*70000 bytes; a secret file holds at most 65536\)$/),
        expect.stringMatching(
          /^PORT_FILE: only secrets can be read from files \(DATABASE_URL_FILE, REDIS_URL_FILE, STRIPE_SECRET_KEY_FILE, STRIPE_WEBHOOK_SECRET_FILE, KAFKA_SASL_PASSWORD_FILE, KAFKA_SSL_KEY_PASSWORD_FILE(, \w+_FILE)*\); set PORT itself$/,
        ),
      ]);
    });

    it('never echoes what a secret file holds, even when it is malformed', () => {
      const problems = problemsOf({
        DATABASE_URL_FILE: file('bad-db', 'mysql://u:db-hunter2@db/x'),
        STRIPE_SECRET_KEY_FILE: file('bad-key', 'pk_live_hunter2'),
      });
      expect(problems.join('\n')).not.toMatch(/hunter2|mysql/);
      expect(problems).toEqual([
        expect.stringMatching(/^DATABASE_URL: expected a URL like .*\(got "\[from DATABASE_URL_FILE\]"\)$/),
        expect.stringMatching(/^STRIPE_SECRET_KEY: expected a Stripe secret key.*\(got "\[set\]"\)$/),
      ]);
    });

    it('`tollgraph config check` accepts NAME_FILE and prints no secret', async () => {
      const bin = join(__dirname, '..', '..', 'bin', 'tollgraph.js');
      const env = {
        PATH: process.env.PATH,
        DATABASE_URL_FILE: file('cli-db', 'postgresql://tollgraph:db-hunter2@db.internal:5432/tollgraph\n'),
        STRIPE_WEBHOOK_SECRET_FILE: file('cli-hook', 'whsec_hookhunter2'),
      };
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'config', 'check', '--json'], {
        env,
        cwd: tempDir('tg-config-'),
      });
      expect(stdout).not.toMatch(/hunter2/);
      expect(JSON.parse(stdout)).toMatchObject({ DATABASE_URL: 'postgresql://tollgraph:***@db.internal:5432/tollgraph', STRIPE_WEBHOOK_SECRET: '[set]' });
    });
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
        expect.arrayContaining([
          expect.stringMatching(/^DATABASE_URL: .*got "mysql:\/\/tollgraph:\*\*\*@db\.internal\/tollgraph"/),
          expect.stringMatching(/^STRIPE_SECRET_KEY: .*got "\[set\]"/),
        ]),
      );
    });

    it('`tollgraph config check --json` prints no password', async () => {
      const bin = join(__dirname, '..', '..', 'bin', 'tollgraph.js');
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'config', 'check', '--json'], {
        env: { PATH: process.env.PATH, ...env },
        cwd: tempDir('tg-config-'),
      });
      expect(stdout).not.toMatch(/hunter2/);
      expect(JSON.parse(stdout)).toMatchObject({ DATABASE_URL: 'postgresql://tollgraph:***@db.internal:5432/tollgraph', STRIPE_WEBHOOK_SECRET: '[set]' });
    });
  });
});
