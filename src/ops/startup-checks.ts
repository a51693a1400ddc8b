import type { Redis } from 'ioredis';
import { connect, type ConnectionOptions } from 'node:tls';
import type { Kafka } from 'kafkajs';
import type { Logger } from './logger';

export type BackingService = 'postgres' | 'redis' | 'kafka';

/**
 * A backing service refused this process for a reason that waiting will not cure: a certificate
 * it does not trust (or that does not trust it), a wrong password, TLS on one side only. The
 * message names the service and the cause, e.g. `kafka: SASL authentication failed: ...`.
 */
export class ServiceStartError extends Error {
  constructor(
    readonly service: BackingService,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${reason}`, options);
    this.name = 'ServiceStartError';
  }
}

/** Node's codes for a server certificate the configured CA did not sign. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

interface Failure {
  code?: string;
  message: string;
  name?: string;
}

/** The error and what it wraps (kafkajs' retries, @platformatic/kafka's MultipleErrors, ioredis' ClusterAllFailedError, Error.cause). */
function chain(error: unknown, seen = new Set<unknown>()): Failure[] {
  if (!error || typeof error !== 'object' || seen.has(error)) return [];
  seen.add(error);
  const { code, message, name, cause, errors, originalError, lastNodeError } = error as Failure & {
    cause?: unknown;
    errors?: unknown[];
    originalError?: unknown;
    lastNodeError?: unknown;
  };
  return [
    { code: typeof code === 'string' ? code : undefined, message: String(message ?? error), name },
    ...chain(cause, seen),
    ...chain(originalError, seen),
    ...chain(lastNodeError, seen),
    ...(Array.isArray(errors) ? errors.flatMap((inner) => chain(inner, seen)) : []),
  ];
}

/**
 * Why `error` means the configuration is wrong (TLS or authentication), in words naming the
 * setting to look at; undefined when it looks like an outage (refused, timed out, reset before
 * TLS), which a retry or the service coming back cures.
 */
export function misconfiguration(error: unknown, settings: { ca: string; clientCertificate: string }): string | undefined {
  const caSetting = settings.ca;
  for (const { code = '', message, name } of chain(error)) {
    if (UNTRUSTED.has(code)) return `TLS: the server's certificate is not signed by a CA this process trusts (${caSetting}): ${message}`;
    if (code === 'CERT_HAS_EXPIRED') return `TLS: the server's certificate has expired: ${message}`;
    if (code === 'CERT_NOT_YET_VALID') return `TLS: the server's certificate is not valid yet: ${message}`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: the server's certificate is not issued for this host name: ${message}`;
    if (/^ERR_SSL_.*(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE)/.test(code))
      return `TLS: the server does not speak TLS on this port: ${message}`;
    if (/^ERR_SSL_.*ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN)/.test(code))
      return `TLS: the server wants a client certificate it trusts and did not get one (${settings.clientCertificate}): ${message}`;
    if (/^ERR_SSL_.*ALERT_CERTIFICATE_EXPIRED/.test(code))
      return `TLS: the server refused the client certificate as expired (${settings.clientCertificate}): ${message}`;
    if (/^ERR_SSL_.*ALERT_CERTIFICATE_REQUIRED/.test(code)) return `TLS: the server requires a client certificate (${settings.clientCertificate}): ${message}`;
    if (/^ERR_SSL_/.test(code)) return `TLS handshake failed: ${message}`;
    if (/secure TLS connection was established/.test(message))
      return `TLS: the server closed the connection during the handshake (a port without TLS, or a refused client certificate): ${message}`;
    if (/does not support SSL connections/.test(message)) return `TLS: the server does not accept TLS connections: ${message}`;
    if (name === 'KafkaJSSASLAuthenticationError' || /SASL/i.test(name ?? '')) return `SASL authentication failed: ${message}`;
    // Postgres SQLSTATE class 28: invalid authorization (a wrong password, no pg_hba.conf entry such as hostssl only)
    if (code === '28P01' || code === '28000') return `authentication failed: ${message}`;
    if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(message)) return `authentication failed: ${message}`;
  }
  return undefined;
}

/** The database answers: any failure stops the start (nothing runs without it), described when it is a misconfiguration. */
export async function checkPostgres(query: () => Promise<unknown>): Promise<void> {
  try {
    await query();
  } catch (error) {
    throw new ServiceStartError(
      'postgres',
      misconfiguration(error, { ca: 'DATABASE_URL sslrootcert', clientCertificate: 'DATABASE_URL sslcert' }) ?? `cannot connect: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Waits for the first outcome of the connection's first attempt: ready, a misconfiguration
 * (throws), or an outage (returns: the limiter's Redis-down policy covers it, as after any
 * outage). At most `timeoutMs`.
 */
export async function checkRedis(redis: Redis, timeoutMs: number, logger: Logger, diagnose?: () => Promise<void>): Promise<void> {
  if (redis.status === 'ready') return;
  const outcome = await new Promise<Error | undefined>((resolve) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', done);
      resolve(error);
    };
    const onReady = () => done();
    const timer = setTimeout(() => done(), timeoutMs);
    redis.once('ready', onReady);
    redis.on('error', done);
  });
  if (!outcome) return;
  const settings = { ca: 'REDIS_TLS_CA_FILE', clientCertificate: 'not supported for Redis' };
  // A cluster reports a refused TLS handshake only as "Connection is closed": one handshake of our own finds the cause.
  const cause = misconfiguration(outcome, settings) ?? (diagnose ? misconfiguration(await diagnose().catch((error: unknown) => error), settings) : undefined);
  if (cause) throw new ServiceStartError('redis', cause, { cause: outcome });
  logger.warn({ err: outcome }, 'redis is not reachable at start; limits follow LIMITS_REDIS_DOWN_POLICY until it is');
}

/**
 * One connection to a seed broker, without retries: a misconfiguration throws, an outage is
 * logged and returned (the gateway serves without Kafka; the consumer fails on its own connect).
 */
export async function checkKafka(kafka: Kafka, logger: Logger): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
  } catch (error) {
    const cause = misconfiguration(error, { ca: 'KAFKA_SSL_CA_FILE', clientCertificate: 'KAFKA_SSL_CERT_FILE' });
    if (cause) throw new ServiceStartError('kafka', cause, { cause: error });
    logger.warn({ err: error }, 'kafka is not reachable at start (a broker that closes every connection may want TLS: KAFKA_SSL)');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One TLS handshake with `host:port` and nothing else: resolves once the server's certificate is accepted, rejects with Node's TLS error otherwise. */
export function tlsHandshake(host: string, port: number, options: ConnectionOptions, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...options, host, port, servername: options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host) });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
