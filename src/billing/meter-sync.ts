import Stripe from 'stripe';
import type { MeterReport, PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../ops/logger';
import { stripeLinkedAccounts } from '../accounts/service';
import { hasUnreported, markReported } from '../metering/reporting';
import { refreshReportedWindow } from '../metering/rollups';
import { assignMeterReports, STRIPE_MAX_EVENT_AGE_MS } from './meter-reports';

export interface MeterSyncOptions {
  eventName: string;
  /** Meter events per second this worker may send (Stripe: 1,000/s live, 25/s in a sandbox). */
  eventsPerSecond: number;
  /** How long a claimed report is ours before another worker may take it over. */
  leaseMs: number;
  /** Backoff: first retry after about this long, doubling, capped, with full jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

const CLAIM_BATCH = 100;

type ClaimedReport = Pick<
  MeterReport,
  'id' | 'identifier' | 'accountId' | 'stripeCustomerId' | 'eventName' | 'windowStart' | 'windowEnd' | 'units' | 'status' | 'attempts'
> & {
  /** When this worker's claim ends: its updates hold only while the report is still pending under it. */
  leaseUntil: Date;
};

/** Rate limits, server errors and network trouble pass; anything else needs a person. */
export function isRetryable(error: unknown): boolean {
  if (
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError
  )
    return true;
  if (error instanceof Stripe.errors.StripeError) return (error.statusCode ?? 500) >= 500 || error.statusCode === 409 || error.statusCode === 429;
  return true; // not from Stripe at all: a socket or timeout error
}

export function backoffMs(attempt: number, base: number, max: number, random = Math.random): number {
  return Math.round(random() * Math.min(max, base * 2 ** Math.max(0, attempt - 1)));
}

/**
 * Reports usage to Stripe Billing Meters, exactly once in effect: (1) ledger records become
 * meter reports with a fixed identifier, (2) due reports are claimed under a lease with
 * SKIP LOCKED and sent, (3) marked SENT. A crash between 2 and 3 resends the same identifier,
 * which Stripe deduplicates. Failures back off exponentially with jitter; a Stripe outage
 * leaves a backlog that drains when it returns.
 */
export class MeterSync {
  private nextSendAt = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly options: MeterSyncOptions,
    private readonly logger: Logger,
  ) {}

  /** One pass: assign new usage, then send every report due now. Returns reports sent. */
  async runOnce(now = new Date()): Promise<{ assigned: number; sent: number; failed: number }> {
    const assigned = await assignMeterReports(this.prisma, this.options.eventName, now);
    let sent = 0;
    let failed = 0;
    for (;;) {
      const claimed = await this.claim();
      if (claimed.length === 0) break;
      for (const report of claimed) {
        if (await this.send(report)) sent++;
        else failed++;
      }
    }
    return { assigned, sent, failed };
  }

  /** Runs passes until nothing is pending or failing-but-retryable, or `deadline` passes. */
  async drain(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      await this.runOnce();
      const open = await this.prisma.meterReport.findFirst({ where: { status: 'PENDING' }, orderBy: { nextAttemptAt: 'asc' } });
      const unassigned = await hasUnreported(this.prisma, [...(await stripeLinkedAccounts(this.prisma)).keys()]);
      if (!open && !unassigned) return;
      const wait = open?.nextAttemptAt ? open.nextAttemptAt.getTime() - Date.now() : 0;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(10, wait))));
    }
  }

  private async claim(): Promise<ClaimedReport[]> {
    const leaseUntil = new Date(Date.now() + this.options.leaseMs);
    return this.prisma.$queryRaw<ClaimedReport[]>`
      UPDATE meter_reports SET next_attempt_at = ${leaseUntil}, attempts = attempts + 1, updated_at = now()
      WHERE id IN (
        SELECT id FROM meter_reports
        WHERE status = 'PENDING' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
        ORDER BY window_start LIMIT ${CLAIM_BATCH}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, identifier, account_id AS "accountId", stripe_customer_id AS "stripeCustomerId", event_name AS "eventName",
                window_start AS "windowStart", window_end AS "windowEnd", units, status, attempts, next_attempt_at AS "leaseUntil"`;
  }

  private async pace(): Promise<void> {
    const interval = 1000 / this.options.eventsPerSecond;
    const now = Date.now();
    const at = Math.max(now, this.nextSendAt);
    this.nextSendAt = at + interval;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }

  /**
   * Records what became of a report this worker claimed, only if it is still pending under this
   * worker's lease: a worker that outlived its lease (a long pause) must not mark FAILED, or put
   * off, a report another worker has since claimed or sent. False: the report is someone else's now.
   */
  private async settle(report: ClaimedReport, data: { status?: 'TOO_OLD' | 'FAILED'; lastError: string; nextAttemptAt?: Date }): Promise<boolean> {
    const { count } = await this.prisma.meterReport.updateMany({ where: { id: report.id, status: 'PENDING', nextAttemptAt: report.leaseUntil }, data });
    if (count === 0) this.logger.warn({ report: report.identifier }, 'meter report taken over by another worker (this one outlived its lease): left as it is');
    return count === 1;
  }

  /**
   * Extends this worker's lease on a report right before it is sent, fenced as `settle` is: a
   * claim of many reports is sent one by one, and on a slow machine or a slow Stripe the last ones
   * can outlive the claim's lease and be claimed by another worker, which would send them too
   * (harmless to Stripe, which drops a known identifier, but twice the calls). False: someone else's now.
   */
  private async renew(report: ClaimedReport): Promise<boolean> {
    const leaseUntil = new Date(Date.now() + this.options.leaseMs);
    const { count } = await this.prisma.meterReport.updateMany({
      where: { id: report.id, status: 'PENDING', nextAttemptAt: report.leaseUntil },
      data: { nextAttemptAt: leaseUntil },
    });
    if (count === 0) return false;
    report.leaseUntil = leaseUntil;
    return true;
  }

  private async send(report: ClaimedReport): Promise<boolean> {
    if (Date.now() - report.windowStart.getTime() > STRIPE_MAX_EVENT_AGE_MS) {
      if (!(await this.settle(report, { status: 'TOO_OLD', lastError: 'older than Stripe accepts (35 days): bill it by hand' }))) return false;
      this.logger.warn({ report: report.identifier, units: report.units }, 'usage too old for Stripe: flagged for manual billing');
      return false;
    }
    await this.pace();
    if (!(await this.renew(report))) return false;
    try {
      await this.stripe.billing.meterEvents.create(
        {
          event_name: report.eventName,
          identifier: report.identifier,
          timestamp: Math.floor(report.windowStart.getTime() / 1000),
          payload: { stripe_customer_id: report.stripeCustomerId ?? '', value: String(report.units) },
        },
        { idempotencyKey: report.identifier },
      );
    } catch (error) {
      const retryable = isRetryable(error);
      const message = (error as Error).message;
      const settled = await this.settle(
        report,
        retryable
          ? { lastError: message, nextAttemptAt: new Date(Date.now() + backoffMs(report.attempts, this.options.backoffBaseMs, this.options.backoffMaxMs)) }
          : { lastError: message, status: 'FAILED' },
      );
      if (!settled) return false;
      this.logger[retryable ? 'warn' : 'error'](
        { report: report.identifier, attempt: report.attempts, err: error },
        retryable ? 'meter event not sent; will retry' : 'meter event refused by Stripe',
      );
      return false;
    }
    const sentAt = new Date();
    await this.prisma.$transaction(async (tx) => {
      await tx.meterReport.update({ where: { id: report.id }, data: { status: 'SENT', sentAt, lastError: null } });
      await markReported(tx, report.id, sentAt);
    });
    // Sent stays sent if this fails; the usage queries then show the window as pending until the next refresh.
    await refreshReportedWindow(this.prisma, report.accountId, report.windowStart, report.windowEnd).catch((error: unknown) =>
      this.logger.warn({ report: report.identifier, err: error }, 'could not refresh the usage rollups of a reported window'),
    );
    return true;
  }
}
