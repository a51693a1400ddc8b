import type { PrismaClient } from '../generated/prisma/client';

export type Granularity = 'HOUR' | 'DAY';

const UNIT_MS: Record<Granularity, number> = { HOUR: 3_600_000, DAY: 86_400_000 };

/** Start of the UTC hour or day containing `time`. */
export function bucketStart(time: Date, granularity: Granularity): Date {
  return new Date(Math.floor(time.getTime() / UNIT_MS[granularity]) * UNIT_MS[granularity]);
}

export function bucketEnd(start: Date, granularity: Granularity): Date {
  return new Date(start.getTime() + UNIT_MS[granularity]);
}

/**
 * Recomputes the hourly and daily rollups of every bucket touching [from, to) from the ledger:
 * whole buckets, replaced rather than incremented, so running it twice (or after a crash, or to
 * repair) always lands on the ledger's truth. Reported units are those billing marked
 * `reported_at` (src/metering/reporting.ts), in the transaction that marks their report SENT.
 */
export async function rebuildRollups(prisma: PrismaClient, from: Date, to: Date, accountId?: string): Promise<void> {
  for (const granularity of ['HOUR', 'DAY'] as const) {
    const start = bucketStart(from, granularity);
    const end = bucketEnd(bucketStart(new Date(to.getTime() - 1), granularity), granularity);
    const unit = granularity === 'HOUR' ? 'hour' : 'day';
    await prisma.$executeRawUnsafe(
      `INSERT INTO usage_rollups (id, account_id, granularity, bucket_start, meter, requests, cost_units, reported_units, updated_at)
       SELECT gen_random_uuid(), u.account_id, $1::"UsageGranularity", date_trunc('${unit}', u.occurred_at, 'UTC'), u.meter,
              count(*)::int, sum(u.cost_units)::int, coalesce(sum(u.cost_units) FILTER (WHERE u.reported_at IS NOT NULL), 0)::int, now()
       FROM usage_records u
       WHERE u.occurred_at >= $2 AND u.occurred_at < $3 AND ($4::uuid IS NULL OR u.account_id = $4::uuid)
       GROUP BY u.account_id, date_trunc('${unit}', u.occurred_at, 'UTC'), u.meter
       ON CONFLICT (account_id, granularity, bucket_start, meter) DO UPDATE
         SET requests = EXCLUDED.requests, cost_units = EXCLUDED.cost_units, reported_units = EXCLUDED.reported_units, updated_at = now()`,
      granularity,
      start,
      end,
      accountId ?? null,
    );
  }
}

/**
 * Usage records are durable before their response but stamped when the request arrived: one
 * stamped just before a rebuild read the ledger may commit just after it. Each catch-up starts
 * this far before the last one's mark.
 */
const SETTLE_MS = 60_000;

/**
 * Brings an account's rollups up to date before they are read: rebuilds every bucket from where
 * the last catch-up left off (or from the account's first usage) until now, then moves the mark.
 * A bucket rebuilt after it closed is final for requests and cost units; its reported units are
 * refreshed by `refreshReportedWindow` as the billing worker reports it. So a past day shows what
 * the ledger holds whether or not anyone asked for it that day, at the cost of rebuilding only
 * what was recorded since the last read.
 */
export async function catchUpRollups(prisma: PrismaClient, accountId: string): Promise<void> {
  const readAt = new Date();
  const mark = await prisma.usageRollupMark.findUnique({ where: { accountId } });
  const from = mark
    ? new Date(mark.through.getTime() - SETTLE_MS)
    : (await prisma.usageRecord.findFirst({ where: { accountId }, orderBy: { occurredAt: 'asc' }, select: { occurredAt: true } }))?.occurredAt;
  if (from && from <= readAt) await rebuildRollups(prisma, from, new Date(readAt.getTime() + 1), accountId);
  // Concurrent readers may finish in any order: the mark only moves forward.
  await prisma.$executeRaw`
    INSERT INTO usage_rollup_marks (account_id, through) VALUES (${accountId}::uuid, ${readAt})
    ON CONFLICT (account_id) DO UPDATE SET through = GREATEST(usage_rollup_marks.through, EXCLUDED.through)`;
}

/** A usage window was reported to Stripe (or its report changed state): its buckets' reported units change. */
export async function refreshReportedWindow(prisma: PrismaClient, accountId: string, windowStart: Date, windowEnd: Date): Promise<void> {
  await rebuildRollups(prisma, windowStart, windowEnd, accountId);
}
