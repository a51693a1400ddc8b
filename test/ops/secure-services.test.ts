import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { prepareServices } from '../../src/app';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/ops/logger';
import type { Services } from '../../src/services';
import { FakeStripe } from '../support/fake-stripe';
import { freePort, graphql, runBuilt, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../support/throwaway-database';
import { consumerProcess } from '../risk/support';
import { tempDir } from '../support/temp-dirs';

/**
 * Production's transport security, end to end on real services: `scripts/services.sh up --secure`
 * runs Postgres (TLS only, verify-full), Redis (TLS only, ACL user) and Kafka (SASL_SSL: SCRAM
 * and a required client certificate) beside the default set, and the gateway, the risk consumer,
 * the feed tool and the billing worker run over them as separate processes. Then each kind of
 * misconfiguration stops a process at start, naming the service and the cause.
 */

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const SYSTEM = { type: 'system:test' } as const;

const servicesSh = (...args: string[]) => run('bash', [join(ROOT, 'scripts', 'services.sh'), ...args, '--secure'], { maxBuffer: 16 << 20 });
const SECURE_SET = ['postgres', 'redis', 'kafka'];

/** The secure services not running now (`services.sh status --secure`): the ones this test starts, and stops again. */
async function stoppedSecureServices(): Promise<string[]> {
  const { stdout } = await servicesSh('status');
  return SECURE_SET.filter((service) => !new RegExp(`^${service}\\s+running`, 'm').test(stdout));
}

/** The secure profile's settings, as `services.sh env --secure` prints them. */
async function secureServices(): Promise<Record<string, string>> {
  await servicesSh('up');
  const { stdout } = await servicesSh('env');
  return Object.fromEntries([...stdout.matchAll(/^export (\w+)='?([^'\n]*)'?$/gm)].map(([, name, value]) => [name, value]));
}

/** openssl in a temp folder: another CA, and a client certificate of the real CA that expired in 2020. */
async function badCertificates(certDir: string, dir: string) {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-subj', '/CN=Someone else', '-days', '30', '-out', 'other-ca.crt');
  await openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'expired.key', '-subj', '/CN=tollgraph', '-out', 'expired.csr');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${dir}/index.txt`,
      `new_certs_dir = ${dir}`,
      `serial = ${dir}/serial`,
      'default_md = sha256',
      'policy = any',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  await openssl(
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    join(certDir, 'ca.crt'),
    '-keyfile',
    join(certDir, 'ca.key'),
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
    '-in',
    'expired.csr',
    '-out',
    'expired.crt',
    '-notext',
  );
  return { otherCa: join(dir, 'other-ca.crt'), expiredCert: join(dir, 'expired.crt'), expiredKey: join(dir, 'expired.key') };
}

describe('over TLS and authentication (scripts/services.sh up --secure)', () => {
  let secure: Record<string, string>;
  let database: ThrowawayDatabase;
  let env: Record<string, string>;
  let services: Services;
  let bad: Awaited<ReturnType<typeof badCertificates>>;
  const tmp = tempDir('tg-secure-');
  const stripe = new FakeStripe();
  const running: Array<{ stop(): Promise<unknown> }> = [];
  /** Stopped again after the tests, whatever happened: a half-started set must not hold its ports for whatever runs next. */
  let started: string[] = [];

  beforeAll(async () => {
    started = await stoppedSecureServices();
    secure = await secureServices();
    expect(secure.DATABASE_URL).toMatch(/sslmode=verify-full/);
    bad = await badCertificates(join(ROOT, '.services', 'secure', 'certs'), tmp);
    database = await createThrowawayDatabase(secure.DATABASE_URL);
    const suffix = randomBytes(4).toString('hex');
    // the SASL password as a secret file, as a Kubernetes deployment mounts it
    const passwordFile = join(tmp, 'kafka-password');
    writeFileSync(passwordFile, `${secure.KAFKA_SASL_PASSWORD}\n`);
    const { KAFKA_SASL_PASSWORD: _inline, ...settings } = secure;
    env = {
      ...settings,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
      DATABASE_URL: database.url,
      KAFKA_TOPIC_PREFIX: `tg-secure-${suffix}-`,
      REDIS_KEY_PREFIX: `tg-secure-${suffix}:`,
      TRANSACTIONS_PARTITIONS: '2',
      STRIPE_SECRET_KEY: 'sk_test_secure',
      STRIPE_API_BASE: await stripe.start(),
      BILLING_SYNC_IN_GATEWAY: 'false',
      BILLING_SYNC_INTERVAL_MS: '200',
    };
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent', NODE_ENV: 'test' });
    services = await prepareServices(config, createLogger(config));
  }, 240_000);

  afterAll(async () => {
    for (const process of running.reverse()) await process.stop().catch(() => undefined);
    if (services) {
      const admin = services.kafka!.admin();
      await admin.connect();
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(env.KAFKA_TOPIC_PREFIX));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
      await services.close();
    }
    await database?.drop();
    await stripe.stop();
    rmSync(tmp, { recursive: true, force: true });
    if (started.length) await servicesSh('down', ...started);
  }, 120_000);

  it('runs the gateway, the consumer, the feed and the billing worker end to end: a score is produced, served and billed', async () => {
    const gateway: RunningProcess = await startGatewayProcess(env);
    running.push(gateway);
    const consumer = await consumerProcess(env);
    running.push({ stop: () => consumer.kill() });
    const worker = runBuilt('bin/tollgraph.js', env, ['worker', 'billing']);
    running.push({
      stop: () => {
        worker.child.kill('SIGTERM');
        return worker.exited;
      },
    });

    const account = await services.accounts.create(
      { name: 'Secure', email: `secure-${randomBytes(4).toString('hex')}@example.com`, planCode: 'PROFESSIONAL' },
      SYSTEM,
    );
    const customer = `cus_secure_${randomBytes(4).toString('hex')}`;
    await services.accounts.linkStripeCustomer(account.id, customer, SYSTEM);
    const { secret } = await services.keys.create({ accountId: account.id, name: 'secure', role: 'SUBSCRIBER' }, SYSTEM);

    const feed = runBuilt('bin/tollgraph.js', env, ['feed', '--count', '50', '--customers', '3', '--no-pace', '--seed', '7']);
    expect(await feed.exited).toBe(0);

    let served: { customerId: string; score: number; band: string } | null = null;
    await waitFor(
      'a score over the secure pipeline',
      async () => {
        const answer = await graphql(gateway.url, '{ riskScore(customerId: "c-0") { customerId score band } }', {
          headers: { authorization: `Bearer ${secret}` },
        });
        served = answer.body.data?.riskScore ?? null;
        return served !== null;
      },
      60_000,
      200,
    );
    expect(served).toMatchObject({ customerId: 'c-0', score: expect.any(Number) });

    // the usage of those requests reaches Stripe through the worker (Postgres over TLS)
    await waitFor(
      'a meter event for the customer',
      async () => [...stripe.events.values()].some((event) => event.customer === customer && event.value > 0),
      30_000,
      100,
    );
    expect(gateway.output()).not.toMatch(/"level":(50|60)/);
    expect(consumer.output()).not.toMatch(/"level":60/);
  }, 180_000);

  /** A gateway (or another role) with one setting spoiled: it must stop at start, saying which service and why. */
  async function startFails(overrides: Record<string, string>, args: string[] = [], script = 'dist/main.js') {
    const attempt = runBuilt(script, { ...env, PORT: String(await freePort()), ...overrides }, args);
    const timer = setTimeout(() => attempt.child.kill('SIGKILL'), 30_000);
    const code = await attempt.exited.finally(() => clearTimeout(timer));
    return { code, output: attempt.output() };
  }

  /** Whether the spoiled start applied migrations: it must not get that far. */
  async function migrated(databaseUrl: string): Promise<boolean> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
      return rows[0].n > 0;
    } finally {
      await client.end();
    }
  }

  it.each([
    [
      'kafka',
      'a CA that did not sign the broker',
      () => ({ KAFKA_SSL_CA_FILE: bad.otherCa }),
      /kafka: TLS: the server's certificate is not signed by a CA this process trusts \(KAFKA_SSL_CA_FILE\)/,
    ],
    [
      'kafka',
      'a wrong SCRAM password',
      () => ({ KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: 'not-the-password' }),
      /kafka: SASL authentication failed: .*invalid credentials/,
    ],
    [
      'kafka',
      'no client certificate',
      () => ({ KAFKA_SSL_CERT_FILE: '', KAFKA_SSL_KEY_FILE: '' }),
      /kafka: TLS: the server wants a client certificate it trusts and did not get one \(KAFKA_SSL_CERT_FILE\)/,
    ],
    [
      'redis',
      'a CA that did not sign the server',
      () => ({ REDIS_TLS_CA_FILE: bad.otherCa }),
      /redis: TLS: the server's certificate is not signed by a CA this process trusts \(REDIS_TLS_CA_FILE\)/,
    ],
    [
      'redis',
      'a wrong ACL password',
      () => ({ REDIS_URL: secure.REDIS_URL.replace(/:[^:@]+@/, ':not-the-password@') }),
      /redis: authentication failed: WRONGPASS/,
    ],
    [
      'postgres',
      'a CA that did not sign the server',
      () => ({ DATABASE_URL: env.DATABASE_URL.replace(/sslrootcert=[^&]+/, `sslrootcert=${encodeURIComponent(bad.otherCa)}`) }),
      /postgres: TLS: the server's certificate is not signed by a CA this process trusts/,
    ],
    [
      'postgres',
      'no TLS (the server accepts none)',
      () => ({ DATABASE_URL: env.DATABASE_URL.replace(/\?.*$/, '') }),
      /postgres: authentication failed: .*no encryption/,
    ],
  ])(
    '%s with %s: the gateway stops at start, naming the service and the cause, and migrates nothing',
    async (_service, _case, overrides, message) => {
      const fresh = await createThrowawayDatabase(secure.DATABASE_URL);
      try {
        const spoiled: Record<string, string> = overrides();
        const onFresh = (url: string) => url.replace(/\/tg_test_[^/?]+/, `/${fresh.name}`);
        const { code, output } = await startFails({ ...spoiled, DATABASE_URL: onFresh(spoiled.DATABASE_URL ?? env.DATABASE_URL) });
        expect({ code, message: output.match(/"msg":"could not start"/) !== null }).toEqual({ code: 1, message: true });
        expect(output).toMatch(message);
        expect(output).not.toMatch(/not-the-password|tollgraph-tls/); // never the password
        expect(await migrated(fresh.url)).toBe(false);
      } finally {
        await fresh.drop();
      }
    },
    60_000,
  );

  it('the consumer with a wrong SCRAM password exits at start naming Kafka', async () => {
    const { code, output } = await startFails(
      { KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: 'not-the-password', LOG_LEVEL: 'info' },
      ['risk', 'consume', '--metrics-port', '0'],
      'bin/tollgraph.js',
    );
    expect(code).not.toBe(0);
    expect(output).toMatch(/kafka: SASL authentication failed/);
  }, 60_000);

  it('an expired client certificate is a configuration error naming the variable, before any connection', async () => {
    const { code, output } = await startFails({ KAFKA_SSL_CERT_FILE: bad.expiredCert, KAFKA_SSL_KEY_FILE: bad.expiredKey });
    expect(code).toBe(2);
    expect(output).toMatch(/KAFKA_SSL_CERT_FILE: the client certificate in \S+expired\.crt \(CN=tollgraph\) expired on 2020-02-01T00:00:00\.000Z/);
  }, 60_000);

  it('an encrypted client key is read with KAFKA_SSL_KEY_PASSWORD: the broker takes the certificate; a wrong or missing password is a configuration error', async () => {
    const encryptedKey = join(tmp, 'client-encrypted.key');
    await run('openssl', ['pkey', '-in', env.KAFKA_SSL_KEY_FILE, '-aes256', '-passout', 'pass:key-secret', '-out', encryptedKey]);
    expect(readFileSync(encryptedKey, 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
    const topics = (overrides: Record<string, string>) =>
      startFails({ KAFKA_SSL_KEY_FILE: encryptedKey, ...overrides }, ['risk', 'topics'], 'bin/tollgraph.js');

    // mutual TLS with the decrypted key, then SCRAM: the topics are made (or found) and it exits 0
    const good = await topics({ KAFKA_SSL_KEY_PASSWORD: 'key-secret' });
    expect({ code: good.code, output: good.output }).toEqual({ code: 0, output: expect.stringContaining('transactions') });

    const wrong = await topics({ KAFKA_SSL_KEY_PASSWORD: 'not-the-password' });
    expect(wrong.code).toBe(2);
    expect(wrong.output).toMatch(/KAFKA_SSL_KEY_FILE: the private key in \S+client-encrypted\.key cannot be decrypted with KAFKA_SSL_KEY_PASSWORD/);
    expect(wrong.output).not.toContain('not-the-password');

    const missing = await topics({});
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/the private key in \S+client-encrypted\.key is encrypted; set KAFKA_SSL_KEY_PASSWORD/);
  }, 90_000);

  it('a key that is not the certificate’s, and a CA file that holds no certificate, are configuration errors too', async () => {
    const notPem = join(tmp, 'not-a-cert.pem');
    writeFileSync(notPem, readFileSync(bad.expiredKey));
    const { code, output } = await startFails({ KAFKA_SSL_KEY_FILE: bad.expiredKey, REDIS_TLS_CA_FILE: notPem });
    expect(code).toBe(2);
    expect(output).toMatch(/KAFKA_SSL_KEY_FILE: the private key in \S+ does not belong to the certificate in \S+client\.crt/);
    expect(output).toMatch(/REDIS_TLS_CA_FILE: \S+ holds no PEM certificate/);
  }, 60_000);
});
