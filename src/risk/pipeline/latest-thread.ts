import { extname, join } from 'node:path';
import { SpanKind, trace } from '@opentelemetry/api';
import type { Config } from '../../config/schema';
import { CallThread } from '../../ops/call-thread';
import type { Logger } from '../../ops/logger';
import { tracer, tracing } from '../../ops/tracing';
import type { RedisSettings } from '../../redis/client';
import type { LatestCall, LatestCalls } from './latest-calls';

/** What the thread is started with (src/risk/pipeline/latest-thread-worker.ts). */
export interface LatestThreadData {
  redis: RedisSettings;
  /** REDIS_KEY_PREFIX. */
  prefix: string;
  logLevel: Config['LOG_LEVEL'];
}

const WORKER_FILE = join(__dirname, `latest-thread-worker${extname(__filename)}`);

/**
 * The risk consumer's latest-score writes on a thread of their own, with its own Redis connection:
 * the main thread packs each call's scores into bytes (LatestPayload) and hands them over; the
 * thread builds the transaction's commands and talks to Redis. Kept on the main thread, those
 * arguments and the Redis client's encoding of them lived on the consumer's heap until Redis
 * answered, and the consumer, whose main thread is its limit, paid for them and their collection:
 * on the ingestion probe a prototype went at 32.1-41.7k events/s against 28.6-33.5k, and this
 * thread at 1.02-1.42 times (median 1.14) the rate of the same packed calls made on the main thread,
 * in 6 interleaved pairs (BENCHMARKS.md, section 3). One connection keeps the calls in order (one transaction at a time), so a
 * partition's scores land in the order they were scored. A thread that fails fails the calls it
 * held (their batches go back to their checkpoints, as for any failed sink).
 */
export class LatestThread extends CallThread<LatestCall[], number[][]> implements LatestCalls {
  constructor(data: LatestThreadData, logger: Logger) {
    super(WORKER_FILE, data, 'the latest-score thread', logger);
  }

  run(calls: LatestCall[]): Promise<number[][]> {
    // Each payload's own bytes, copied at once (its buffer may be reused when this returns) and
    // handed over: a view posted as it is clones its whole buffer (512 KB, LatestPayload), which
    // was 2.5 % of the consumer's main thread in a profile of the ingestion benchmark.
    const own = calls.map(({ claims, payload }) => ({ claims, payload: new Uint8Array(payload) }));
    const answered = this.call(
      own,
      own.map(({ payload }) => payload.buffer),
    );
    const span = this.span(calls.length);
    if (span)
      answered.then(
        () => span.end(),
        (error: Error) => {
          span.recordException(error);
          span.end();
        },
      );
    return answered;
  }

  /**
   * In a traced batch, a span for the calls (the thread's Redis client is not instrumented: the
   * span stands for its Redis work in the batch's trace, as the client's own span did).
   */
  private span(calls: number) {
    if (!tracing.on || !trace.getActiveSpan()) return undefined;
    return tracer.startSpan('latest scores', {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'redis', 'db.operation.name': 'MULTI', 'tollgraph.latest_score_calls': calls },
    });
  }
}
