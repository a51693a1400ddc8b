import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../ops/logger';

export type MessageHandler = (message: string) => void;

/**
 * Fan-out between gateway processes: Redis pub/sub when Redis is configured, an in-process
 * emitter in the embedded mode (one process, so that is the whole audience).
 */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  /**
   * Called after the subscriber connection was lost and is back: messages sent meanwhile are gone,
   * so caches fed by invalidations must start over.
   */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

export function memoryPubSub(): PubSub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish: async (channel, message) => void emitter.emit(channel, message),
    subscribe: async (channel, handler) => {
      emitter.on(channel, handler);
      return async () => void emitter.off(channel, handler);
    },
    onReconnect: () => undefined,
    close: async () => void emitter.removeAllListeners(),
  };
}

export function redisPubSub(redis: Redis, prefix: string, logger: Logger): PubSub {
  // A connection in subscriber mode can do nothing else, hence a dedicated one. In a Redis
  // Cluster a PUBLISH on any node reaches the subscribers of every node (classic pub/sub is
  // broadcast over the cluster bus), so the Cluster client's one subscriber connection, to a node
  // it picks and moves when that node goes, hears every process.
  const subscriber = redis.isCluster
    ? (redis as unknown as Cluster).duplicate(undefined, { enableOfflineQueue: true })
    : redis.duplicate({ enableOfflineQueue: true });
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const reconnectHandlers: Array<() => void> = [];
  let lost = false;
  subscriber.on('message', (channel: string, message: string) => emitter.emit(channel.slice(prefix.length), message));
  subscriber.on('error', (error) => {
    if (!lost) logger.warn({ err: error }, 'pub/sub connection lost; caches will be flushed when it returns');
    lost = true;
  });
  subscriber.on('ready', () => {
    if (!lost) return;
    lost = false;
    for (const handler of reconnectHandlers) handler();
  });
  return {
    publish: async (channel, message) => void (await redis.publish(prefix + channel, message)),
    subscribe: async (channel, handler) => {
      if (emitter.listenerCount(channel) === 0) await subscriber.subscribe(prefix + channel);
      emitter.on(channel, handler);
      return async () => {
        emitter.off(channel, handler);
        if (emitter.listenerCount(channel) === 0) await subscriber.unsubscribe(prefix + channel).catch(() => undefined);
      };
    },
    onReconnect: (handler) => void reconnectHandlers.push(handler),
    close: async () => {
      emitter.removeAllListeners();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
