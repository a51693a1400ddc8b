import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../config/schema';
import { kafkaTls } from '../config/tls';

/** How every Kafka client of the process reaches the brokers: the one place both client libraries take it from. */
export interface KafkaSecurity {
  /** TLS options (CA, client certificate and key); undefined: plaintext. */
  tls?: ConnectionOptions;
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
}

/** The configuration's Kafka security settings: what kafkaSecurity reads, and all a thread of the process is given. */
const KAFKA_SECURITY_KEYS = [
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_KEY_PASSWORD',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
] as const satisfies ReadonlyArray<keyof Config>;

export type KafkaSecurityConfig = Pick<Config, (typeof KAFKA_SECURITY_KEYS)[number]>;

/** Only these settings out of the whole configuration (what a thread of the process is started with). */
export function kafkaSecuritySettings(config: KafkaSecurityConfig): KafkaSecurityConfig {
  return Object.fromEntries(KAFKA_SECURITY_KEYS.map((key) => [key, config[key]])) as KafkaSecurityConfig;
}

/** Plaintext, no authentication: what a local broker (scripts/services.sh) expects. */
export const PLAINTEXT: KafkaSecurity = {};

/** The validated configuration (loadConfig checked the files and that the SASL settings come together) as client settings. */
export function kafkaSecurity(config: KafkaSecurityConfig): KafkaSecurity {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  return {
    tls: kafkaTls(config),
    sasl: mechanism && username && password ? { mechanism, username, password } : undefined,
  };
}

/** What the logs may say about it (never the password). */
export function describeKafkaSecurity(security: KafkaSecurity): string {
  const tls = security.tls ? `TLS${security.tls.cert ? ' (client certificate)' : ''}` : 'plaintext';
  return security.sasl ? `${tls}, SASL ${security.sasl.mechanism} as ${security.sasl.username}` : tls;
}
