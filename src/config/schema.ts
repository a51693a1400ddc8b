import { z } from 'zod';

/**
 * Every setting Tollgraph reads, with the form it expects. `.env.example` documents the same
 * names; a test keeps the two in step. Unset service URLs select the embedded stand-ins.
 */
const port = z.coerce
  .number({ error: 'a TCP port number (1-65535)' })
  .int({ error: 'a TCP port number (1-65535)' })
  .min(1, { error: 'a TCP port number (1-65535)' })
  .max(65535, { error: 'a TCP port number (1-65535)' });

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `${what} (a positive whole number)` })
    .int({ error: `${what} (a positive whole number)` })
    .positive({ error: `${what} (a positive whole number)` });

const urlWithScheme = (schemes: string[], example: string) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { error: `a URL like ${example}` },
    );

const brokerList = z
  .string()
  .trim()
  .refine((value) => value.split(',').every((broker) => /^[^\s:,]+:\d{1,5}$/.test(broker.trim())), {
    error: 'a comma-separated list of host:port, e.g. 127.0.0.1:9092',
  })
  .transform((value) => value.split(',').map((broker) => broker.trim()));

const boolean = z
  .enum(['true', 'false', '1', '0'], { error: 'true or false' })
  .transform((value) => value === 'true' || value === '1');

/** Empty strings mean "unset", as in most .env tooling. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'development, production or test' }).default('development'),
  HOST: z.string().trim().min(1, { error: 'a host name or IP address' }).default('127.0.0.1'),
  PORT: port.default(4000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_PRETTY: optional(boolean),
  DATA_DIR: z.string().trim().min(1, { error: 'a directory path' }).default('.data'),
  DATABASE_URL: optional(urlWithScheme(['postgres', 'postgresql'], 'postgresql://user:pass@127.0.0.1:5432/tollgraph')),
  DATABASE_POOL_SIZE: positiveInt('pool size').default(10),
  MIGRATE_ON_START: boolean.default(true),
  REDIS_URL: optional(urlWithScheme(['redis', 'rediss'], 'redis://127.0.0.1:6379')),
  REDIS_KEY_PREFIX: z.string().default('tg:'),
  KAFKA_BROKERS: optional(brokerList),
  KAFKA_CLIENT_ID: z.string().trim().min(1).default('tollgraph'),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  TRANSACTIONS_PARTITIONS: positiveInt('partition count').default(10),
  STRIPE_SECRET_KEY: optional(z.string().regex(/^(sk|rk)_(test|live)_\w+$/, { error: 'a Stripe secret key, sk_test_… or sk_live_…' })),
  STRIPE_API_BASE: optional(urlWithScheme(['http', 'https'], 'http://127.0.0.1:12111')),
  STRIPE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_\w+$/, { error: 'a webhook signing secret, whsec_…' })),
  READINESS_TIMEOUT_MS: positiveInt('milliseconds').default(1000),
  SHUTDOWN_TIMEOUT_MS: positiveInt('milliseconds').default(15000),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigName = keyof Config;
