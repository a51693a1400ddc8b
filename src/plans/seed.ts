import type { PrismaClient } from '../generated/prisma/client';
import { DEFAULT_PLANS } from './defaults';

/**
 * Inserts the default plans that are missing. Existing rows are left alone: an admin's edits
 * survive restarts, and a second start adds nothing.
 */
export async function seedPlans(prisma: PrismaClient): Promise<void> {
  await prisma.plan.createMany({
    data: DEFAULT_PLANS.map(({ grants, ...plan }) => ({ ...plan, entitlements: { grants } })),
    skipDuplicates: true,
  });
}
