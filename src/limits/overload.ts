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
  /** Requests in flight (admitted, not yet answered) at which the process counts as saturated. */
  maxInFlight: number;
  /** Event-loop delay (ms) at which the process counts as saturated. */
  maxEventLoopDelayMs: number;
}

export interface Admitted {
  /** Called once the answer went out (or the connection closed): frees the request's slot. */
  release(): void;
}

export interface AdmissionMetrics {
  shed(priority: Priority): void;
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
 */
export class AdmissionControl {
  private inFlight = 0;
  /** In flight on reserved slots (not counted against the shared capacity). */
  private onReserved = 0;
  private reservedTotal = 0;
  private readonly reservations = new Map<string, Reservation>();

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

  /**
   * Admits a request (holding a slot until `release`) or throws `OVERLOADED`. `accountId` and its
   * `reserved` concurrency (the account's limits) when the caller has a key.
   */
  admit(priority: Priority, accountId?: string, reserved = 0): Admitted {
    const reservation = accountId === undefined ? undefined : this.reservationOf(accountId, reserved);
    if (reservation && reservation.inFlight < reservation.reserved) {
      reservation.inFlight++;
      this.onReserved++;
      this.inFlight++;
      return this.slot(() => {
        reservation.inFlight--;
        this.onReserved--;
        this.inFlight--;
      });
    }
    this.check(priority);
    this.inFlight++;
    return this.slot(() => this.inFlight--);
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

export function overloaded(priority: Priority): TollgraphError {
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
