import type { PrismaClient } from '../generated/prisma/client';

export interface ProductUsageRow {
  /** YYYY-MM (UTC). */
  month: string;
  product: string;
  /** The ledger's meter: DEFAULT_METER (the plans') or a product's own. */
  meter: string;
  requests: number;
  units: number;
}

/** The ledger's records of `products` in [from, to), per UTC month, product and meter. */
export function productUsage(prisma: PrismaClient, from: Date, to: Date, products: readonly string[]): Promise<ProductUsageRow[]> {
  return prisma.$queryRaw<ProductUsageRow[]>`
    SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, product, meter, count(*)::int AS requests, sum(cost_units)::int AS units
    FROM usage_records
    WHERE product = ANY(${[...products]}::text[]) AND occurred_at >= ${from} AND occurred_at < ${to}
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3`;
}
