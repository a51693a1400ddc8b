import type { Prisma } from '../../generated/prisma/client';

/** A lock on one Stripe object (`<kind>:<id>`) until the transaction ends: its events are applied one transaction at a time. */
export async function lockStripeObject(tx: Prisma.TransactionClient, key: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
}
