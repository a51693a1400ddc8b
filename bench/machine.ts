import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { ROOT, type ServiceName } from './lib/common';

const run = promisify(execFile);

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  postgresSettings: string;
  redis: string;
  kafka: string;
  packages: Record<string, string>;
}

const PACKAGES = [
  '@apollo/server',
  'graphql',
  'express',
  'kafkajs',
  '@platformatic/kafka',
  'pg',
  'ioredis',
  'rate-limiter-flexible',
  'autocannon',
  '@prisma/client',
];

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export async function describeMachine(urls: Record<ServiceName, string>): Promise<Machine> {
  const pg = new Client({ connectionString: urls.DATABASE_URL });
  await pg.connect();
  let postgres = 'unknown';
  let postgresSettings = '';
  try {
    postgres = ((await pg.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? 'unknown').split(' ')[0];
    const names = ['synchronous_commit', 'fsync', 'shared_buffers', 'max_connections'];
    const settings = await pg.query<Record<string, string>>(`SELECT ${names.map((name) => `current_setting('${name}') AS ${name}`).join(', ')}`);
    postgresSettings = names.map((name) => `${name}=${settings.rows[0][name]}`).join(', ');
  } finally {
    await pg.end();
  }
  const redis = new Redis(urls.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisVersion = 'unknown';
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
  let kafka = 'unknown (KAFKA_BROKERS given)';
  try {
    const { stdout } = await run('bash', [join(ROOT, 'scripts', 'services.sh'), 'status'], { cwd: ROOT });
    const match = /kafka\s+running\s+(\S+)\s+\(.*?Kafka ([\d.]+)/.exec(stdout);
    if (match && urls.KAFKA_BROKERS.includes(match[1])) kafka = `${match[2]} (KRaft, one broker)`;
  } catch {
    // status is best effort
  }
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    postgres,
    postgresSettings,
    redis: redisVersion,
    kafka,
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
  };
}
