import { once } from 'node:events';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SpanKind, trace } from '@opentelemetry/api';
import type { Config } from '../../config/schema';
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

/** A call to the thread, and its answer. */
export type ToLatestThread = { id: number; calls: LatestCall[] } | { close: true };
export type FromLatestThread = { id: number; results: number[][] } | { id: number; error: string };

/** Run from source (tests, benchmarks) the thread's module is TypeScript too, loaded by the same hook. */
const FROM_SOURCE = extname(__filename) === '.ts';
const WORKER_FILE = join(__dirname, `latest-thread-worker${extname(__filename)}`);
/** How long the thread has to close its connection and end once asked to. */
const CLOSE_MS = 2_000;
const TYPESCRIPT_HOOK = join(__dirname, '..', '..', '..', 'scripts', 'typescript-hook.cjs');

/**
 * The risk consumer's latest-score writes on a thread of their own, with its own Redis connection:
 * the main thread packs each call's scores into bytes (LatestPayload) and hands them over; the
 * thread builds the transaction's commands and talks to Redis. Kept on the main thread, those
 * arguments and the Redis client's encoding of them lived on the consumer's heap until Redis
 * answered, and the consumer, whose main thread is its limit, paid for them and their collection:
 * on the ingestion probe a prototype went at 32.1-41.7k events/s against 28.6-33.5k, and this
 * thread at 1.02-1.42 times (median 1.14) the rate of the same packed calls made on the main thread,
 * in 6 interleaved pairs (BENCHMARKS.md, section 3). One connection keeps the calls in order (one transaction at a time), so a
 * partition's scores land in the order they were scored. A thread that fails fails the calls it held (their batches
 * go back to their checkpoints, as for any failed sink) and the next call starts a new one.
 */
export class LatestThread implements LatestCalls {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve(results: number[][]): void; reject(error: Error): void }>();
  private readonly underWay = new Set<Promise<unknown>>();
  private nextId = 0;

  constructor(
    private readonly data: LatestThreadData,
    private readonly logger: Logger,
  ) {}

  /** Starts the thread now (it loads its modules and connects while the consumer starts), not at the first call. */
  start(): void {
    this.worker ??= this.spawn();
  }

  run(calls: LatestCall[]): Promise<number[][]> {
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    const answered = new Promise<number[][]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Each payload's own bytes, copied at once (its buffer may be reused when this returns) and
      // handed over: a view posted as it is clones its whole buffer (512 KB, LatestPayload), which
      // was 2.5 % of the consumer's main thread in a profile of the ingestion benchmark.
      const own = calls.map(({ claims, payload }) => ({ claims, payload: new Uint8Array(payload) }));
      worker.postMessage(
        { id, calls: own } satisfies ToLatestThread,
        own.map(({ payload }) => payload.buffer),
      );
    });
    this.underWay.add(answered);
    const span = this.span(calls.length);
    answered.then(
      () => {
        this.underWay.delete(answered);
        span?.end();
      },
      (error: Error) => {
        this.underWay.delete(answered);
        span?.recordException(error);
        span?.end();
      },
    );
    return answered;
  }

  /** Once the calls under way have been answered: the thread closes its connection and ends. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    await Promise.allSettled([...this.underWay]);
    const exited = once(worker, 'exit');
    worker.postMessage({ close: true } satisfies ToLatestThread);
    // A Redis that does not answer its QUIT does not hold the consumer's shutdown.
    const timer = setTimeout(() => void worker.terminate(), CLOSE_MS);
    await exited;
    clearTimeout(timer);
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

  private spawn(): Worker {
    const worker = new Worker(WORKER_FILE, { workerData: this.data, execArgv: FROM_SOURCE ? ['-r', TYPESCRIPT_HOOK] : [] });
    // The consumer's own connections keep the process alive; this thread must not once they are closed.
    worker.unref();
    worker.on('message', (message: FromLatestThread) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if ('error' in message) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.results);
    });
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the latest-score thread ended (exit code ${code})`)));
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker === worker) {
      this.worker = undefined;
      this.logger.error({ err: error }, 'the latest-score thread failed; the next call starts a new one');
    }
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }
}
