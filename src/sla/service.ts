import { badInput } from '../errors';
import type { PrismaClient, SlaCredit } from '../generated/prisma/client';
import { BUCKETS, quantileBound } from './buckets';
import type { SlaRecorder } from './recorder';

export interface OperationSla {
  operation: string;
  requests: number;
  serverErrors: number;
  /** Latency quantiles as the bound of their bucket (at most this many ms); null above the last bound. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Requests per latency bucket, in LATENCY_BOUNDS_MS order, then the open bucket. */
  latencyBuckets: number[];
}

export interface SlaFigures {
  month: string;
  from: Date;
  to: Date;
  requests: number;
  serverErrors: number;
  /** Answers that were not the server's fault over all answers; null without requests. */
  availability: number | null;
  operations: OperationSla[];
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The UTC month `YYYY-MM` as [from, to). */
export function monthRange(month: string): { from: Date; to: Date } {
  const match = MONTH.exec(month);
  if (!match) throw badInput('month must be YYYY-MM, e.g. 2026-12', { fields: ['month'] });
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { from: new Date(Date.UTC(year, index, 1)), to: new Date(Date.UTC(year, index + 1, 1)) };
}

/**
 * What an account was served in a month, from every gateway's SLA counts (src/sla/recorder.ts):
 * availability and latency per operation, the figures a plan's service level is judged by.
 */
export class SlaService {
  constructor(
    private readonly prisma: PrismaClient,
    readonly recorder: SlaRecorder,
  ) {}

  /** The service credit the account's month earned, if any (src/sla/credits.ts issues them). */
  credit(accountId: string, month: string): Promise<SlaCredit | null> {
    return this.prisma.slaCredit.findUnique({ where: { accountId_month: { accountId, month } } });
  }

  async report(accountId: string, month: string): Promise<SlaFigures> {
    const { from, to } = monthRange(month);
    // This process's counts not yet written would be missing from an account's current month.
    if (Date.now() < to.getTime()) await this.recorder.flush();
    const rows = await this.prisma.slaHour.findMany({ where: { accountId, hour: { gte: from, lt: to } } });
    const byOperation = new Map<string, OperationSla>();
    let requests = 0;
    let serverErrors = 0;
    for (const row of rows) {
      requests += row.requests;
      serverErrors += row.serverErrors;
      let op = byOperation.get(row.operation);
      if (!op)
        byOperation.set(
          row.operation,
          (op = {
            operation: row.operation,
            requests: 0,
            serverErrors: 0,
            p50Ms: null,
            p95Ms: null,
            p99Ms: null,
            latencyBuckets: new Array<number>(BUCKETS).fill(0),
          }),
        );
      op.requests += row.requests;
      op.serverErrors += row.serverErrors;
      row.latencyBuckets.forEach((n, i) => {
        op.latencyBuckets[i] += n;
      });
    }
    const operations = [...byOperation.values()].sort((a, b) => b.requests - a.requests || a.operation.localeCompare(b.operation));
    for (const op of operations) {
      op.p50Ms = quantileBound(op.latencyBuckets, 0.5);
      op.p95Ms = quantileBound(op.latencyBuckets, 0.95);
      op.p99Ms = quantileBound(op.latencyBuckets, 0.99);
    }
    return { month, from, to, requests, serverErrors, availability: requests ? (requests - serverErrors) / requests : null, operations };
  }
}
