import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Config } from './schema';

/**
 * TLS material for the backing services, read from the files the configuration names and checked
 * before any connection is tried: a missing file, a file that holds no certificate, an expired
 * or not yet valid client certificate, a key that does not belong to its certificate or will not
 * decrypt are configuration errors naming the variable, not a handshake failure minutes later.
 * What the server thinks of it (a CA that did not sign its certificate, a refused client
 * certificate) only a connection tells: see src/ops/startup-checks.ts.
 */
export class TlsFileError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'TlsFileError';
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readText(variable: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TlsFileError(variable, `cannot read the ${what} file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function certificatesIn(variable: string, path: string, what: string): { pem: string; certificates: X509Certificate[] } {
  const pem = readText(variable, path, what);
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsFileError(variable, `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const certificates = blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsFileError(variable, `${path} holds a certificate that cannot be parsed (${(error as Error).message})`);
    }
  });
  return { pem, certificates };
}

const subject = (certificate: X509Certificate) => certificate.subject.replace(/\n/g, ', ');

/** Why a certificate is not usable at `now`, or undefined. */
function outsideValidity(certificate: X509Certificate, now: number): string | undefined {
  if (Date.parse(certificate.validTo) < now) return `expired on ${new Date(certificate.validTo).toISOString()}`;
  if (Date.parse(certificate.validFrom) > now) return `is not valid before ${new Date(certificate.validFrom).toISOString()}`;
  return undefined;
}

/** CA bundle: every certificate parses, and at least one is within its validity period. */
export function readCaFile(variable: string, path: string, now = Date.now()): string {
  const { pem, certificates } = certificatesIn(variable, path, 'CA certificate');
  if (certificates.every((certificate) => outsideValidity(certificate, now))) {
    throw new TlsFileError(variable, `the CA certificate in ${path} (${subject(certificates[0])}) ${outsideValidity(certificates[0], now)}`);
  }
  return pem;
}

/**
 * A client certificate and its private key (mutual TLS): the certificate within its validity
 * period, the key readable (with `passphrase` if it is encrypted) and the certificate's own.
 */
export function readClientCertificate(
  names: { cert: string; key: string; passphrase: string },
  files: { cert: string; key: string; passphrase?: string },
  now = Date.now(),
): { cert: string; key: string; passphrase?: string } {
  const { pem: cert, certificates } = certificatesIn(names.cert, files.cert, 'client certificate');
  const leaf = certificates[0];
  const invalid = outsideValidity(leaf, now);
  if (invalid) throw new TlsFileError(names.cert, `the client certificate in ${files.cert} (${subject(leaf)}) ${invalid}`);
  const key = readText(names.key, files.key, 'private key');
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key, passphrase: files.passphrase });
  } catch (error) {
    const encrypted = /ENCRYPTED/.test(key);
    throw new TlsFileError(
      names.key,
      encrypted && files.passphrase === undefined
        ? `the private key in ${files.key} is encrypted; set ${names.passphrase}`
        : encrypted
          ? `the private key in ${files.key} cannot be decrypted with ${names.passphrase} (${(error as Error).message})`
          : `${files.key} holds no usable PEM private key (${(error as Error).message})`,
    );
  }
  if (!leaf.checkPrivateKey(keyObject))
    throw new TlsFileError(names.key, `the private key in ${files.key} does not belong to the certificate in ${files.cert} (${subject(leaf)})`);
  return { cert, key, passphrase: files.passphrase };
}

type KafkaTlsConfig = Pick<Config, 'KAFKA_SSL' | 'KAFKA_SSL_CA_FILE' | 'KAFKA_SSL_CERT_FILE' | 'KAFKA_SSL_KEY_FILE' | 'KAFKA_SSL_KEY_PASSWORD'>;

/** Node TLS options for the Kafka brokers, or undefined for plaintext (KAFKA_SSL unset). */
export function kafkaTls(config: KafkaTlsConfig, now = Date.now()): ConnectionOptions | undefined {
  if (!config.KAFKA_SSL) return undefined;
  const options: ConnectionOptions = {};
  if (config.KAFKA_SSL_CA_FILE) options.ca = readCaFile('KAFKA_SSL_CA_FILE', config.KAFKA_SSL_CA_FILE, now);
  if (config.KAFKA_SSL_CERT_FILE && config.KAFKA_SSL_KEY_FILE) {
    Object.assign(
      options,
      readClientCertificate(
        { cert: 'KAFKA_SSL_CERT_FILE', key: 'KAFKA_SSL_KEY_FILE', passphrase: 'KAFKA_SSL_KEY_PASSWORD' },
        { cert: config.KAFKA_SSL_CERT_FILE, key: config.KAFKA_SSL_KEY_FILE, passphrase: config.KAFKA_SSL_KEY_PASSWORD },
        now,
      ),
    );
  }
  return options;
}

/** Node TLS options for a `rediss://` REDIS_URL (ioredis turns TLS on for the scheme; this adds the CA) or a cluster with REDIS_CLUSTER_TLS. */
export function redisTls(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_TLS' | 'REDIS_TLS_CA_FILE'>, now = Date.now()): ConnectionOptions | undefined {
  if (!config.REDIS_URL?.startsWith('rediss:') && !config.REDIS_CLUSTER_TLS) return undefined;
  return config.REDIS_TLS_CA_FILE ? { ca: readCaFile('REDIS_TLS_CA_FILE', config.REDIS_TLS_CA_FILE, now) } : {};
}

/** libpq's `sslmode` values pg can honour (`allow` and `prefer` would need a plaintext fallback pg does not have). */
export const POSTGRES_SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
const POSTGRES_SSL_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;

/**
 * The TLS settings a PostgreSQL URL asks for with libpq's parameters, and the URL without them
 * (pg would otherwise parse them again, with its own meaning of `require`). As libpq:
 * `require` encrypts without checking the server (with `sslrootcert`, it checks the CA as
 * `verify-ca` does); `verify-ca` checks the CA, `verify-full` also the host name. `sslcert` +
 * `sslkey` add a client certificate. Without `sslmode` the connection is plaintext.
 */
export function postgresTls(url: string, now = Date.now()): { url: string; ssl: ConnectionOptions | false } {
  const parsed = new URL(url);
  const parameter = (name: string) => parsed.searchParams.get(name) ?? undefined;
  const mode = parameter('sslmode');
  const rootCert = parameter('sslrootcert');
  const cert = parameter('sslcert');
  const key = parameter('sslkey');
  for (const name of POSTGRES_SSL_PARAMETERS) parsed.searchParams.delete(name);
  const stripped = parsed.toString();
  if (mode !== undefined && !(POSTGRES_SSL_MODES as readonly string[]).includes(mode)) {
    throw new TlsFileError('DATABASE_URL', `sslmode=${mode} is not supported; use one of ${POSTGRES_SSL_MODES.join(', ')} (verify-full in production)`);
  }
  if ((rootCert || cert || key) && (mode === undefined || mode === 'disable')) {
    throw new TlsFileError(
      'DATABASE_URL',
      `sslrootcert, sslcert and sslkey need sslmode=require, verify-ca or verify-full (got ${mode === undefined ? 'no sslmode' : `sslmode=${mode}`})`,
    );
  }
  if (mode === undefined || mode === 'disable') return { url: stripped, ssl: false };
  if (mode === 'verify-ca' && !rootCert) throw new TlsFileError('DATABASE_URL', 'sslmode=verify-ca needs sslrootcert=<path of the CA certificate>');
  if (Boolean(cert) !== Boolean(key)) throw new TlsFileError('DATABASE_URL', 'sslcert and sslkey go together (a client certificate and its key)');
  const ssl: ConnectionOptions = {};
  if (rootCert) ssl.ca = readCaFile('DATABASE_URL (sslrootcert)', rootCert, now);
  if (cert && key)
    Object.assign(
      ssl,
      readClientCertificate(
        { cert: 'DATABASE_URL (sslcert)', key: 'DATABASE_URL (sslkey)', passphrase: 'a passphrase (not supported: use an unencrypted key)' },
        { cert, key },
        now,
      ),
    );
  if (mode === 'require' && !rootCert) ssl.rejectUnauthorized = false;
  // verify-ca (and require with a CA): the chain is checked, the host name is not.
  if (mode !== 'verify-full') ssl.checkServerIdentity = () => undefined;
  return { url: stripped, ssl };
}

/** Every TLS setting's problem, for loadConfig: the files are read and checked once at start. */
export function tlsProblems(config: Config): string[] {
  const problems: string[] = [];
  const check = (build: () => unknown) => {
    try {
      build();
    } catch (error) {
      if (!(error instanceof TlsFileError)) throw error;
      problems.push(error.message);
    }
  };
  check(() => kafkaTls(config));
  check(() => redisTls(config));
  if (config.DATABASE_URL) check(() => postgresTls(config.DATABASE_URL!));
  return problems;
}
