import { recordQuality } from '../../catalog/quality';
import type { PrismaClient } from '../../db/client';

export const RISK_DATA_PRODUCT = 'customer-risk-scores';

/** What the catalog shows as the product's measured quality (DataProduct.quality). */
export interface RiskQuality {
  /** p99 of event time to durable score, in ms, over the interval (null when nothing was scored live). */
  freshnessLagP99Ms: number | null;
  eventsPerSecond: number;
  /** Share of events refused to the DLQ (0-1). */
  dlqRate: number;
  /** Share of accepted (valid, non-duplicate) events whose score is durable (0-1). */
  completeness: number;
  measuredAt: string;
}

const SAMPLES = 16_384;

/**
 * Rolling figures of one pipeline process between two reports: counters and a bounded sample of
 * latencies (the newest SAMPLES), cheap enough to feed from the hot path once per batch.
 */
export class QualityWindow {
  private since = Date.now();
  private events = 0;
  private invalid = 0;
  private accepted = 0;
  private scored = 0;
  private readonly latencies = new Float64Array(SAMPLES);
  private latencyCount = 0;

  record(batch: { events: number; invalid: number; accepted: number; scored: number }): void {
    this.events += batch.events;
    this.invalid += batch.invalid;
    this.accepted += batch.accepted;
    this.scored += batch.scored;
  }

  latency(ms: number): void {
    // An event stamped ahead of this host's clock counts as fresh, not negative.
    this.latencies[this.latencyCount++ % SAMPLES] = Math.max(ms, 0);
  }

  /** The figures since the last snapshot, then starts a new interval. */
  snapshot(now = Date.now()): RiskQuality {
    const seconds = Math.max(0.001, (now - this.since) / 1000);
    const n = Math.min(this.latencyCount, SAMPLES);
    let p99: number | null = null;
    if (n > 0) {
      const sorted = this.latencies.slice(0, n).sort();
      p99 = Math.round(sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)] * 10) / 10;
    }
    const quality: RiskQuality = {
      freshnessLagP99Ms: p99,
      eventsPerSecond: Math.round((this.events / seconds) * 10) / 10,
      dlqRate: this.events ? this.invalid / this.events : 0,
      completeness: this.accepted ? Math.min(1, this.scored / this.accepted) : 1,
      measuredAt: new Date(now).toISOString(),
    };
    this.since = now;
    this.events = this.invalid = this.accepted = this.scored = this.latencyCount = 0;
    return quality;
  }
}

/**
 * Stores the measured quality on the `customer-risk-scores` data product through the catalog
 * (a no-op returning false until the catalog has seeded it).
 */
export async function writeRiskQuality(prisma: PrismaClient, quality: RiskQuality): Promise<boolean> {
  return writeProductQuality(prisma, RISK_DATA_PRODUCT, quality);
}

/** The same figures for any product a stream operator serves (`completeness`: applied over accepted events). */
export async function writeProductQuality(prisma: PrismaClient, slug: string, quality: RiskQuality): Promise<boolean> {
  const { freshnessLagP99Ms, measuredAt, ...rest } = quality;
  return recordQuality(prisma, slug, { ...rest, ...(freshnessLagP99Ms === null ? {} : { freshnessLagP99Ms }), measuredAt: new Date(measuredAt) });
}
