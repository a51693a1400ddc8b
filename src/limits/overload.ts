import type { PlanCode } from '../generated/prisma/enums';
import { TollgraphError } from '../errors';

/** Who is asking, for admission under overload: a caller without a key, or the account's plan. */
export type Priority = 'ANONYMOUS' | PlanCode;

/**
 * The pressure (see `AdmissionControl.pressure`) from which each priority is shed: the lowest
 * tiers go first, so the capacity left serves the higher ones. ENTERPRISE is not shed by pressure
 * (its own rate limits and reserved concurrency bound it).
 */
export const SHED_AT: Readonly<Record<Priority, number>> = { ANONYMOUS: 0.5, FREE: 0.75, PROFESSIONAL: 1, ENTERPRISE: Number.POSITIVE_INFINITY };

export interface OverloadSettings {
  /** Off: every request is admitted (the comparison run of the benchmark). */
  enabled: boolean;
  /** Requests in flight (admitted, queued or running, not yet answered) at which the process counts as saturated. */
  maxInFlight: number;
  /** Event-loop delay (ms) at which the process counts as saturated. */
  maxEventLoopDelayMs: number;
  /**
   * Requests that run at once (0: no limit). Beyond it, requests below ENTERPRISE wait for a
   * running one to finish, highest tier first, at most `maxQueueMs`; ENTERPRISE and reserved
   * slots never wait.
   */
  concurrency?: number;
  maxQueueMs?: number;
}

export interface Admitted {
  /**
   * Called once the answer went out (or the connection closed): frees the request's slot, or
   * takes it out of the queue.
   */
  release(): void;
  /**
   * Set when the request waits for a running one to finish: resolves when it may run, rejects
   * with OVERLOADED when it waited `maxQueueMs`.
   */
  ready?: Promise<void>;
}

export interface AdmissionMetrics {
  shed(priority: Priority): void;
  /** How long a request waited for a running one to finish (admitted or shed). */
  waited?(priority: Priority, seconds: number): void;
}

/** The tiers that may wait, highest first. */
const QUEUED_TIERS = ['PROFESSIONAL', 'FREE', 'ANONYMOUS'] as const;
type QueuedTier = (typeof QUEUED_TIERS)[number];

interface Waiter {
  priority: QueuedTier;
  since: number;
  run(): void;
  timer: NodeJS.Timeout;
  /** Out of the queue (ran, timed out or left); skipped where it still sits. */
  gone: boolean;
}

interface Reservation {
  reserved: number;
  inFlight: number;
}

/** How often the event loop's delay is sampled, and how many samples make the estimate. */
const SAMPLE_MS = 20;
const WINDOW = 5;

/**
 * Event-loop delay, the saturation signal that covers CPU-heavy requests (a queued request waits
 * about this long before the process even reads it): a timer's lateness, sampled every
 * SAMPLE_MS, as the median of the last WINDOW samples (about 100 ms). Saturated, every sample is
 * late and the median is the delay; a single pause (a garbage collection, a large synchronous
 * task such as loading a WebAssembly module) is one late sample and does not move it.
 */
export class EventLoopDelay {
  private readonly samples = new Float64Array(WINDOW);
  /** Reused for sorting: `current` runs on every admission. */
  private readonly sorted = new Float64Array(WINDOW);
  private median = 0;
  private next = 0;
  private expected = performance.now() + SAMPLE_MS;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      const now = performance.now();
      this.samples[this.next] = Math.max(0, now - this.expected);
      this.next = (this.next + 1) % WINDOW;
      this.expected = now + SAMPLE_MS;
      this.median = this.medianWith(-1);
    }, SAMPLE_MS);
    this.timer.unref();
  }

  /** Milliseconds: the median of the window, a stall under way (the timer overdue) counting as its newest sample. */
  current(): number {
    const overdue = performance.now() - this.expected;
    return overdue > 0 ? this.medianWith(overdue) : this.median;
  }

  /** The median of the window, with `newest` in place of the oldest sample when it is not negative. */
  private medianWith(newest: number): number {
    this.sorted.set(this.samples);
    if (newest >= 0) this.sorted[this.next] = newest;
    this.sorted.sort();
    return this.sorted[WINDOW >> 1];
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

const noMetrics: AdmissionMetrics = { shed: () => undefined };

/**
 * Plan-aware admission, before a request's body is read: each gateway process measures its own
 * saturation (requests in flight, event-loop delay) and, past each tier's threshold, refuses the
 * lowest tiers first (`503 OVERLOADED` with Retry-After), after Envoy's overload manager and
 * Google's criticality-based load shedding. An account with reserved concurrency always gets that
 * many requests in flight, and the shared capacity of the other callers is what remains; a refused
 * request reaches neither the limits nor the ledger, so it is never charged.
 *
 * With a concurrency limit, at most that many requests run at once and the others wait in one
 * queue per tier (after concurrency-limited servers such as Netflix's concurrency-limits and
 * Envoy's adaptive concurrency): a Node.js process serves every running request's callbacks in
 * turn, so each one a paying request shares the event loop with adds to each of its steps. A
 * freed slot goes to the highest tier waiting; ENTERPRISE requests and reserved slots never wait;
 * a request that waited `maxQueueMs` is refused like a shed one.
 */
export class AdmissionControl {
  private inFlight = 0;
  /** In flight on reserved slots (not counted against the shared capacity). */
  private onReserved = 0;
  private reservedTotal = 0;
  private readonly reservations = new Map<string, Reservation>();
  /** Requests running (not waiting), against `concurrency`. */
  private running = 0;
  private readonly queues: Record<QueuedTier, Waiter[]> = { PROFESSIONAL: [], FREE: [], ANONYMOUS: [] };
  /** Waiters still waiting (the queues also hold gone ones until they reach the front). */
  private waiting = 0;

  constructor(
    private readonly settings: OverloadSettings,
    private readonly eventLoopDelay: () => number,
    private readonly metrics: AdmissionMetrics = noMetrics,
  ) {}

  /**
   * How saturated the process is, 1 being the configured limit: the larger of the shared capacity
   * in use (requests in flight outside reservations over `maxInFlight` minus every reservation
   * known to this process) and the event-loop delay over its maximum.
   */
  pressure(): number {
    const { maxInFlight, maxEventLoopDelayMs } = this.settings;
    const shared = Math.max(1, maxInFlight - this.reservedTotal);
    return Math.max((this.inFlight - this.onReserved) / shared, this.eventLoopDelay() / maxEventLoopDelayMs);
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Requests waiting for a running one to finish. */
  get requestsQueued(): number {
    return this.waiting;
  }

  /**
   * Admits a request (holding a slot until `release`) or throws `OVERLOADED`. `accountId` and its
   * `reserved` concurrency (the account's limits) when the caller has a key. An admitted request
   * with `ready` set waits for it before it runs.
   */
  admit(priority: Priority, accountId?: string, reserved = 0): Admitted {
    const reservation = accountId === undefined ? undefined : this.reservationOf(accountId, reserved);
    if (reservation && reservation.inFlight < reservation.reserved) {
      reservation.inFlight++;
      this.onReserved++;
      this.inFlight++;
      this.running++;
      return this.slot(() => {
        reservation.inFlight--;
        this.onReserved--;
        this.inFlight--;
        this.finished();
      });
    }
    this.check(priority);
    this.inFlight++;
    if (priority === 'ENTERPRISE' || !this.mustWait()) {
      this.running++;
      return this.slot(() => {
        this.inFlight--;
        this.finished();
      });
    }
    return this.queued(priority);
  }

  /**
   * The same decision for work that holds no slot while it lasts (a live feed starting): throws
   * `OVERLOADED` when the priority is shed now.
   */
  check(priority: Priority): void {
    if (!this.settings.enabled) return;
    const pressure = this.pressure();
    if (pressure < SHED_AT[priority]) return;
    this.metrics.shed(priority);
    throw overloaded(priority);
  }

  private slot(free: () => void): Admitted {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        free();
      },
    };
  }

  private mustWait(): boolean {
    const { enabled, concurrency = 0 } = this.settings;
    // Below the limit nobody waits: every finished request hands its slot on at once.
    return enabled && concurrency > 0 && this.running >= concurrency;
  }

  /** A request that waits in its tier's queue for a running one to finish, or for `maxQueueMs`. */
  private queued(priority: QueuedTier): Admitted {
    const { maxQueueMs = 100 } = this.settings;
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    let waiter!: Waiter;
    const ready = new Promise<void>((resolve, reject) => {
      waiter = {
        priority,
        since: performance.now(),
        gone: false,
        run: () => {
          state = 'running';
          this.leave(waiter);
          resolve();
        },
        timer: setTimeout(() => {
          state = 'done';
          this.leave(waiter);
          this.inFlight--;
          this.metrics.shed(priority);
          reject(overloaded(priority));
        }, maxQueueMs),
      };
    });
    this.queues[priority].push(waiter);
    this.waiting++;
    return {
      ready,
      release: () => {
        if (state === 'done') return;
        if (state === 'waiting') this.leave(waiter);
        else this.finished();
        state = 'done';
        this.inFlight--;
      },
    };
  }

  /**
   * Takes a waiter out of its queue (it ran, gave up or left). The array keeps it until it is at
   * the front: waiters of a tier time out in the order they came, so those are trimmed at once,
   * and one that left early goes when the ones before it have.
   */
  private leave(waiter: Waiter): void {
    if (waiter.gone) return;
    waiter.gone = true;
    clearTimeout(waiter.timer);
    this.waiting--;
    this.metrics.waited?.(waiter.priority, (performance.now() - waiter.since) / 1000);
    const queue = this.queues[waiter.priority];
    while (queue.length && queue[0].gone) queue.shift();
  }

  /** A running request finished: its slot goes to the highest tier waiting. */
  private finished(): void {
    this.running--;
    const { concurrency = 0 } = this.settings;
    while (this.waiting > 0 && this.running < concurrency) {
      const next = this.nextWaiter();
      if (!next) return;
      this.running++;
      next.run();
    }
  }

  private nextWaiter(): Waiter | undefined {
    for (const tier of QUEUED_TIERS) {
      const queue = this.queues[tier];
      while (queue.length) {
        const waiter = queue.shift()!;
        if (!waiter.gone) return waiter;
      }
    }
    return undefined;
  }

  /** The account's reservation as this process knows it (a changed override applies from its next request). */
  private reservationOf(accountId: string, reserved: number): Reservation | undefined {
    const known = this.reservations.get(accountId);
    if (known && known.reserved !== reserved) {
      this.reservedTotal += reserved - known.reserved;
      known.reserved = reserved;
    }
    if (known) return known;
    if (reserved <= 0) return undefined;
    const created = { reserved, inFlight: 0 };
    this.reservations.set(accountId, created);
    this.reservedTotal += created.reserved;
    return created;
  }
}

/**
 * The refusal of a shed tier. One error per tier, made once: it is the same for every caller of
 * the tier, and under a flood building it (and its body, which sendError keeps per error) was a
 * large part of what each refusal cost.
 */
export function overloaded(priority: Priority): TollgraphError {
  return (refusals[priority] ??= refusalOf(priority));
}

const refusals: Partial<Record<Priority, TollgraphError>> = {};

function refusalOf(priority: Priority): TollgraphError {
  const who = priority === 'ANONYMOUS' ? 'requests without an API key' : `${priority} requests`;
  return new TollgraphError(
    'OVERLOADED',
    `The gateway is at capacity and is serving higher plans first; ${who} are refused for a moment. Retry after a second.`,
    {
      headers: { 'retry-after': '1' },
      extensions: { priority, retryAfterSeconds: 1 },
    },
  );
}
