import type { Plan as PlanRow, PrismaClient } from '../generated/prisma/client';
import type { Plan } from './plan.types';

const ORDER = { FREE: 0, PROFESSIONAL: 1, ENTERPRISE: 2 } as const;

export function toPlan({ entitlements, ...row }: PlanRow): Plan {
  const grants = (entitlements as { grants?: unknown } | null)?.grants;
  return { ...row, grants: Array.isArray(grants) ? grants.map(String) : [] };
}

export async function listPlans(prisma: PrismaClient): Promise<Plan[]> {
  const rows = await prisma.plan.findMany();
  return rows.sort((a, b) => ORDER[a.code] - ORDER[b.code]).map(toPlan);
}
