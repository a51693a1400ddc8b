import { workerData } from 'node:worker_threads';
import { answerCalls } from '../../ops/call-thread';
import { createLogger } from '../../ops/logger';
import { connectConfiguredRedis } from '../../redis/client';
import { latestCallsOn, type LatestCall } from './latest-calls';
import type { LatestThreadData } from './latest-thread';

/** The latest-score thread (LatestThread): the latest scores' transactions on a Redis connection of its own. */
const data = workerData as LatestThreadData;
const logger = createLogger({ LOG_LEVEL: data.logLevel, LOG_PRETTY: false }).child({ component: 'latest-score-thread' });
const redis = connectConfiguredRedis(data.redis, logger);
const calls = latestCallsOn(redis, data.prefix);
/**
 * A call waits for the connection (the client queues nothing while it is down) at most as long as
 * connecting may take, then fails like any write to a Redis that is away.
 */
const CONNECT_MS = 2_000;
function connected(): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', ready);
      reject(new Error('the latest-score thread is not connected to Redis'));
    }, CONNECT_MS);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', ready);
  });
}

answerCalls(
  (made: LatestCall[]) => connected().then(() => calls.run(made)),
  () => redis.quit(),
);
