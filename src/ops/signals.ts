import type { Logger } from './logger';
import { stopTracing } from './tracing';

/** What a process role says in its shutdown log lines. */
export interface StopMessages {
  stopping: string;
  stopped: string;
}

/**
 * How every process role ends (the gateway and each worker): on SIGTERM or SIGINT it stops its
 * work, flushes its traces and exits 0, or 1 when stopping failed. Whatever still runs after
 * `timeoutMs` (plus 5 s for the drain's own deadline to act first) is cut off with exit 1, so a
 * supervisor never waits forever. A second signal changes nothing: the first one's drain is under way.
 */
export function stopOnSignals(logger: Logger, timeoutMs: number, messages: StopMessages, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, messages.stopping);
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long; exiting');
      logger.flush();
      process.exit(1);
    }, timeoutMs + 5000).unref();
    stop()
      .then(() => stopTracing())
      .then(
        () => {
          logger.info(messages.stopped);
          logger.flush();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          logger.flush();
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
