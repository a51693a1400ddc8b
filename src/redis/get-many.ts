import type { Redis } from 'ioredis';

/**
 * The values of `keys`, in order (null where a key is missing). One MGET on a single Redis; in a
 * Redis Cluster the keys (one per customer) hash to different slots and an MGET across slots is
 * refused (CROSSSLOT), so each key is its own GET: auto-pipelining sends the GETs of one call in
 * one write per node.
 */
export function getMany(redis: Redis, keys: string[]): Promise<Array<string | null>> {
  if (!redis.isCluster) return redis.mget(keys);
  return Promise.all(keys.map((key) => redis.get(key)));
}
