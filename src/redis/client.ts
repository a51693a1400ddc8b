import { Cluster, Redis } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../config/schema';
import { redisTls } from '../config/tls';
import type { Logger } from '../ops/logger';

/** Where Redis is: one server (REDIS_URL) or the seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisSettings = Pick<
  Config,
  'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_CLUSTER_TLS' | 'REDIS_CLUSTER_USERNAME' | 'REDIS_CLUSTER_PASSWORD' | 'REDIS_TLS_CA_FILE'
>;

export const redisConfigured = (config: RedisSettings) => Boolean(config.REDIS_URL || config.REDIS_CLUSTER_NODES);

/** The settings alone (for a thread that opens a connection of its own: plain data, cloned to it). */
export const redisSettings = (config: RedisSettings): RedisSettings => ({
  REDIS_URL: config.REDIS_URL,
  REDIS_CLUSTER_NODES: config.REDIS_CLUSTER_NODES,
  REDIS_CLUSTER_TLS: config.REDIS_CLUSTER_TLS,
  REDIS_CLUSTER_USERNAME: config.REDIS_CLUSTER_USERNAME,
  REDIS_CLUSTER_PASSWORD: config.REDIS_CLUSTER_PASSWORD,
  REDIS_TLS_CA_FILE: config.REDIS_TLS_CA_FILE,
});

/**
 * The configured Redis: a Cluster answers the same commands as one server, so it is handed out
 * typed as `Redis`; the few places whose commands would span slots ask `redis.isCluster`.
 */
export function connectConfiguredRedis(config: RedisSettings, logger: Logger): Redis {
  const client = config.REDIS_CLUSTER_NODES
    ? connectCluster(config.REDIS_CLUSTER_NODES, { tls: redisTls(config), username: config.REDIS_CLUSTER_USERNAME, password: config.REDIS_CLUSTER_PASSWORD })
    : connectRedis(config.REDIS_URL ?? '', redisTls(config));
  watch(client, logger);
  return client as Redis;
}

const backoff = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);

/**
 * One shared connection. No offline queue: while Redis is down a command fails at once instead of
 * waiting in memory, so callers can fall back (the limiter's insurance) and nothing hangs.
 * Auto-pipelining: the commands of every request in one event-loop turn (limits, latest scores)
 * leave in one write and come back in one read, instead of a syscall pair each.
 */
function connectRedis(url: string, tls: ConnectionOptions | undefined): Redis {
  return new Redis(url, {
    // rediss:// turns TLS on by itself; these add the CA to verify the server with (redisTls(config))
    tls,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: false,
    enableAutoPipelining: true,
    retryStrategy: backoff,
  });
}

/**
 * ioredis follows MOVED and ASK by itself and learns the slot map again after either. The same
 * no-offline-queue rule as one server: a command whose node is gone is retried every
 * `retryDelayOnFailover` ms while the cluster still counts the node (`Connection is closed`), or
 * `retryDelayOnClusterDown` ms while the cluster answers CLUSTERDOWN, at most `maxRedirections`
 * times (~1 s), then fails, and the Redis-down policy decides (README, "Redis Cluster").
 * Reads go to masters: a replica may lag behind a limit counter or a score just written.
 * TLS (REDIS_CLUSTER_TLS, the CA in REDIS_TLS_CA_FILE) and the ACL user apply to every node.
 */
function connectCluster(nodes: string[], security: { tls?: ConnectionOptions; username?: string; password?: string }): Cluster {
  return new Cluster(nodes, {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    scaleReads: 'master',
    maxRedirections: 10,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    clusterRetryStrategy: backoff,
    // every node connection, the seeds' and those the slot map names, with the same TLS and ACL user
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2000, ...security },
  });
}

function watch(redis: Redis | Cluster, logger: Logger): void {
  let down = false;
  redis.on('error', (error) => {
    redactCredentials(error);
    if (!down) logger.warn({ err: error }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis connection restored');
    down = false;
  });
}

/**
 * ioredis attaches the failed command to its error, and for a refused login that is `HELLO 3
 * AUTH user password` or `AUTH ...` (for a cluster, on the error inside ClusterAllFailedError):
 * the password would reach the logs (and a start error's cause).
 * Registered first, so every later listener sees the redacted error.
 */
function redactCredentials(error: Error): void {
  const { command, lastNodeError } = error as { command?: { name?: string; args?: unknown[] }; lastNodeError?: Error };
  if (command && /^(auth|hello)$/i.test(command.name ?? '')) command.args = ['[redacted]'];
  // a cluster's "all nodes failed" carries the last node's error, the refused AUTH among them
  if (lastNodeError) redactCredentials(lastNodeError);
}
