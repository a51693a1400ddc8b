import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { configProblems } from '../support/config';
import { printableConfig } from '../../src/config/printable';
import { postgresTls } from '../../src/config/tls';
import { kafkaSecurity } from '../../src/kafka/security';
import { tempDir } from '../support/temp-dirs';

/** The TLS and SASL settings' rules, without any service (test/ops/secure-services.test.ts runs them for real). */
describe('TLS and SASL settings', () => {
  const dir = tempDir('tg-tls-settings-');
  const ca = join(dir, 'ca.crt');
  beforeAll(() => {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-subj', '/CN=Test CA', '-days', '2', '-out', ca],
      { stdio: 'ignore' },
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problemsOf = configProblems;

  it('refuses halves of a pair, each naming the variable', () => {
    expect(
      problemsOf({
        KAFKA_SSL_CA_FILE: ca,
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SSL: 'true',
        KAFKA_SSL_CERT_FILE: ca,
        REDIS_TLS_CA_FILE: ca,
        REDIS_URL: 'redis://127.0.0.1:6379',
      }),
    ).toEqual([
      expect.stringMatching(/^KAFKA_SSL_KEY_FILE: expected the client certificate and its key together/),
      expect.stringMatching(/^KAFKA_SASL_USERNAME: expected KAFKA_SASL_MECHANISM alongside it/),
      expect.stringMatching(/^REDIS_TLS_CA_FILE: expected a rediss:\/\/ REDIS_URL or REDIS_CLUSTER_TLS=true alongside it/),
    ]);
    // the cluster's TLS and login: only with a cluster, and a user needs its password
    expect(problemsOf({ REDIS_CLUSTER_TLS: 'true', REDIS_CLUSTER_USERNAME: 'u', REDIS_CLUSTER_PASSWORD: 'p' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_TLS: expected REDIS_CLUSTER_NODES alongside it/),
      expect.stringMatching(/^REDIS_CLUSTER_USERNAME: expected REDIS_CLUSTER_NODES alongside it/),
      expect.stringMatching(/^REDIS_CLUSTER_PASSWORD: expected REDIS_CLUSTER_NODES alongside it/),
    ]);
    expect(problemsOf({ REDIS_URL: '', REDIS_CLUSTER_NODES: '127.0.0.1:7101', REDIS_CLUSTER_USERNAME: 'u' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_PASSWORD: expected the password of REDIS_CLUSTER_USERNAME/),
    ]);
    expect(problemsOf({ REDIS_URL: '', REDIS_CLUSTER_NODES: '127.0.0.1:7101', REDIS_CLUSTER_TLS: 'true', REDIS_TLS_CA_FILE: ca })).toEqual([]);
    expect(problemsOf({ KAFKA_SSL_CA_FILE: ca })).toEqual([expect.stringMatching(/^KAFKA_SSL_CA_FILE: expected KAFKA_SSL=true alongside it/)]);
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' })).toEqual([
      expect.stringMatching(/^KAFKA_SASL_PASSWORD: expected a password \(or KAFKA_SASL_PASSWORD_FILE\), as KAFKA_SASL_MECHANISM is SCRAM-SHA-256 \(unset\)$/),
    ]);
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.crt') })).toEqual([
      expect.stringMatching(/^KAFKA_SSL_CA_FILE: cannot read the CA certificate file .*missing\.crt \(ENOENT\)$/),
    ]);
  });

  it('gives both Kafka clients one setting, and never prints the password', () => {
    const config = loadConfig({
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'hunter2',
    });
    expect(kafkaSecurity(config)).toEqual({
      tls: { ca: expect.stringContaining('BEGIN CERTIFICATE') },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'svc', password: 'hunter2' },
    });
    expect(JSON.stringify(printableConfig(config))).not.toContain('hunter2');
    expect(kafkaSecurity(loadConfig({}))).toEqual({ tls: undefined, sasl: undefined });
  });

  it('reads libpq’s sslmode as libpq does, and takes the parameters out of the URL it hands pg', () => {
    const base = 'postgresql://u:p@db.internal:5432/app';
    const full = postgresTls(`${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}&application_name=x`);
    expect(full.url).toBe(`${base}?application_name=x`);
    expect(full.ssl).toEqual({ ca: expect.stringContaining('BEGIN CERTIFICATE') }); // chain and host name checked
    const require = postgresTls(`${base}?sslmode=require`);
    expect(require.ssl).toMatchObject({ rejectUnauthorized: false });
    const verifyCa = postgresTls(`${base}?sslmode=verify-ca&sslrootcert=${encodeURIComponent(ca)}`).ssl as {
      checkServerIdentity?: unknown;
      rejectUnauthorized?: boolean;
    };
    expect([typeof verifyCa.checkServerIdentity, verifyCa.rejectUnauthorized]).toEqual(['function', undefined]);
    expect(postgresTls(base).ssl).toBe(false);
    expect(problemsOf({ DATABASE_URL: `${base}?sslmode=prefer` })).toEqual([
      expect.stringMatching(/^DATABASE_URL: sslmode=prefer is not supported; use one of disable, require, verify-ca, verify-full/),
    ]);
    expect(problemsOf({ DATABASE_URL: `${base}?sslmode=verify-ca` })).toEqual([
      'DATABASE_URL: sslmode=verify-ca needs sslrootcert=<path of the CA certificate>',
    ]);
  });
});
