import { badInput } from '../errors';
import type { PrismaClient } from '../generated/prisma/client';
import type { UsageGranularity } from '../generated/prisma/enums';
import { bucketEnd, bucketStart, catchUpRollups } from './rollups';

export interface UsageBucketRow {
  start: Date;
  end: Date;
  requests: number;
  costUnits: number;
  reportedUnits: number;
  pendingUnits: number;
}

const MAX_BUCKETS = 24 * 93;

/** An account's usage per hour or day, from the rollups, brought up to date first. */
export class UsageService {
  /** The catch-up running per account: readers that arrive meanwhile share it (20 aliases of `usage` run one). */
  private readonly catchingUp = new Map<string, Promise<void>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly catchUp: (accountId: string) => Promise<void> = (accountId) => catchUpRollups(prisma, accountId),
  ) {}

  private caughtUp(accountId: string): Promise<void> {
    let running = this.catchingUp.get(accountId);
    if (!running) {
      running = this.catchUp(accountId).finally(() => this.catchingUp.delete(accountId));
      this.catchingUp.set(accountId, running);
    }
    return running;
  }

  async usageOf(accountId: string, from: Date, to: Date, granularity: UsageGranularity): Promise<UsageBucketRow[]> {
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) throw badInput('from must be before to', { fields: ['from', 'to'] });
    const first = bucketStart(from, granularity);
    const count = Math.ceil((to.getTime() - first.getTime()) / (bucketEnd(first, granularity).getTime() - first.getTime()));
    if (count > MAX_BUCKETS) throw badInput(`at most ${MAX_BUCKETS} buckets per query; narrow the range or use DAY`, { fields: ['from', 'to'] });
    await this.caughtUp(accountId);
    const rows = await this.prisma.usageRollup.findMany({
      where: { accountId, granularity, bucketStart: { gte: first, lt: to } },
      orderBy: { bucketStart: 'asc' },
    });
    // A bucket has a row per meter (a data product's add-on usage counts on its own): the account's usage is their sum.
    const buckets = new Map<number, UsageBucketRow>();
    for (const row of rows) {
      const start = row.bucketStart.getTime();
      const bucket = buckets.get(start) ?? {
        start: row.bucketStart,
        end: bucketEnd(row.bucketStart, granularity),
        requests: 0,
        costUnits: 0,
        reportedUnits: 0,
        pendingUnits: 0,
      };
      buckets.set(start, bucket);
      bucket.requests += row.requests;
      bucket.costUnits += row.costUnits;
      bucket.reportedUnits += row.reportedUnits;
      bucket.pendingUnits += row.costUnits - row.reportedUnits;
    }
    return [...buckets.values()];
  }
}
