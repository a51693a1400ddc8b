import { z } from 'zod';
import type { PrismaClient } from '../generated/prisma/client';

/** Quality a pipeline measured for the product it serves; any subset (the rest is kept). */
export interface QualityReport {
  /** p99 of the lag between an event and its result, in milliseconds. */
  freshnessLagP99Ms?: number;
  eventsPerSecond?: number;
  /** Share of source events refused to the dead-letter topic, 0-1. */
  dlqRate?: number;
  /** Share of expected results present, 0-1. */
  completeness?: number;
  /** When measured; default now. */
  measuredAt?: Date;
}

const share = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const report = z.strictObject({
  freshnessLagP99Ms: z.number().min(0, 'must not be negative').optional(),
  eventsPerSecond: z.number().min(0, 'must not be negative').optional(),
  dlqRate: share.optional(),
  completeness: share.optional(),
  measuredAt: z.date().optional(),
});

/**
 * Records the measured quality of data product `slug` (merged into what is stored, so a pipeline
 * may report what it knows) and when it was reported, in one statement. Telemetry, not an
 * administrative change: not audited. Returns false when there is no such product.
 */
export async function recordQuality(prisma: PrismaClient, slug: string, metrics: QualityReport): Promise<boolean> {
  const parsed = report.safeParse(metrics);
  if (!parsed.success)
    throw new Error(`invalid quality report for ${slug}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`);
  const measured = { ...parsed.data, measuredAt: (parsed.data.measuredAt ?? new Date()).toISOString() };
  const updated = await prisma.$executeRaw`
    UPDATE data_products SET quality = quality || ${JSON.stringify(measured)}::jsonb, quality_updated_at = now()
    WHERE slug = ${slug}`;
  return updated > 0;
}
