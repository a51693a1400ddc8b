import { once } from 'node:events';
import { extname, join } from 'node:path';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';
import type { Logger } from './logger';

/** A call to the thread, and its answer. */
type ToThread<Call> = { id: number; call: Call } | { close: true };
type FromThread<Answer> = { id: number; answer: Answer } | { id: number; error: string };

/** How long the thread has to close its connections and end once asked to. */
const CLOSE_MS = 2_000;
const TYPESCRIPT_HOOK = join(__dirname, '..', '..', 'scripts', 'typescript-hook.cjs');

/**
 * A thread of the process that answers calls (the risk consumer's latest scores and its
 * risk-scores topic go out from threads of their own): the calling thread hands each call over,
 * transferring its bytes, and gets a promise of its answer. A thread that fails fails the calls it
 * held, and the next call starts a new one. `file` is the thread's module, which answers with
 * `answerCalls`; run from source (tests, benchmarks) it is TypeScript too, loaded by the same hook.
 */
export class CallThread<Call, Answer> {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();
  private readonly underWay = new Set<Promise<unknown>>();
  private nextId = 0;

  constructor(
    private readonly file: string,
    private readonly data: unknown,
    /** What the logs and errors call it ("the latest-score thread"). */
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  /** Starts the thread now (it loads its modules and connects while the process starts), not at the first call. */
  start(): void {
    this.worker ??= this.spawn();
  }

  /** `transfer`: buffers of `call` handed over (unusable here afterwards) rather than copied. */
  protected call(call: Call, transfer: readonly TransferListItem[] = []): Promise<Answer> {
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    const answered = new Promise<Answer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, call } satisfies ToThread<Call>, transfer);
    });
    this.underWay.add(answered);
    const settled = () => this.underWay.delete(answered);
    answered.then(settled, settled);
    return answered;
  }

  /** Once the calls under way have been answered: the thread closes its connections and ends. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    await Promise.allSettled([...this.underWay]);
    const exited = once(worker, 'exit');
    worker.postMessage({ close: true } satisfies ToThread<Call>);
    // A service that does not answer its goodbye does not hold the process's shutdown.
    const timer = setTimeout(() => void worker.terminate(), CLOSE_MS);
    await exited;
    clearTimeout(timer);
  }

  private spawn(): Worker {
    const fromSource = extname(this.file) === '.ts';
    const worker = new Worker(this.file, { workerData: this.data, execArgv: fromSource ? ['-r', TYPESCRIPT_HOOK] : [] });
    // The process's own connections keep it alive; this thread must not once they are closed.
    worker.unref();
    worker.on('message', (message: FromThread<Answer>) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if ('error' in message) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.answer);
    });
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`${this.name} ended (exit code ${code})`)));
    return worker;
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker === worker) {
      this.worker = undefined;
      this.logger.error({ err: error }, `${this.name} failed; the next call starts a new one`);
    }
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }
}

/**
 * The thread's side of a CallThread: answers each call with `answer`, and when asked to close
 * runs `close` (its connections) and ends. An error goes back as its message and those of what it
 * wraps (a client's several attempts, a cause), which is all that crosses to the calling thread.
 */
export function answerCalls<Call, Answer>(answer: (call: Call) => Promise<Answer>, close: () => Promise<unknown>): void {
  const port = parentPort!;
  port.on('message', (message: ToThread<Call>) => {
    if ('close' in message) {
      void close()
        .catch(() => undefined)
        .finally(() => port.close());
      return;
    }
    answer(message.call).then(
      (result) => port.postMessage({ id: message.id, answer: result } satisfies FromThread<Answer>),
      (error: unknown) => port.postMessage({ id: message.id, error: describe(error) } satisfies FromThread<Answer>),
    );
  });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = [...((error as { errors?: unknown[] }).errors ?? []), ...(error.cause === undefined ? [] : [error.cause])];
  return inner.length ? `${error.message} (${inner.map(describe).join('; ')})` : error.message;
}
