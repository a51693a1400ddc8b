import type { PlanCode, Plan as PlanRow, PrismaClient } from '../generated/prisma/client';
import { recordAudit, type Actor } from '../audit/audit';
import { InvalidatingCache } from '../cache/invalidating-cache';
import { parseInput } from '../errors';
import { z } from 'zod';
import type { PubSub } from '../pubsub/pubsub';
import { GRANTS, type Grant } from './defaults';
import type { Plan } from './plan.types';

const limit = z.number().int('limits are whole numbers').positive('limits must be positive').max(2_000_000_000, 'limit too large');
const planChanges = z.object({
  name: z.string().trim().min(1, 'name must not be empty').max(100, 'name must be at most 100 characters').optional(),
  monthlyPriceCents: z.number().int().min(0, 'monthlyPriceCents must not be negative').optional(),
  dailyQuota: limit.optional(),
  burstPerSecond: limit.optional(),
  maxQueryCost: limit.optional(),
  maxDepth: z.number().int().min(1, 'maxDepth must be at least 1').max(50, 'maxDepth must be at most 50').optional(),
  reservedConcurrency: z.number().int().min(0, 'reservedConcurrency must not be negative').max(10_000, 'reservedConcurrency must be at most 10000').optional(),
  sla: z.string().max(1000, 'sla must be at most 1000 characters').nullable().optional(),
  slaAvailability: z.number().gt(0, 'slaAvailability must be above 0').lt(1, 'slaAvailability must be below 1 (e.g. 0.999)').nullable().optional(),
  slaCreditPercent: z.number().int().min(0, 'slaCreditPercent must not be negative').max(100, 'slaCreditPercent must be at most 100').optional(),
  features: z.array(z.string().min(1).max(200)).max(50).optional(),
  grants: z.array(z.enum(Object.values(GRANTS) as [Grant, ...Grant[]], { error: `grants must be among ${Object.values(GRANTS).join(', ')}` })).optional(),
});

const ORDER: Record<PlanCode, number> = { FREE: 0, PROFESSIONAL: 1, ENTERPRISE: 2 };

export function toPlan({ entitlements, ...row }: PlanRow): Plan {
  const grants = (entitlements as { grants?: unknown } | null)?.grants;
  return { ...row, grants: Array.isArray(grants) ? grants.map(String) : [] };
}

export type PlanChanges = Partial<
  Pick<
    Plan,
    | 'name'
    | 'monthlyPriceCents'
    | 'dailyQuota'
    | 'burstPerSecond'
    | 'maxQueryCost'
    | 'maxDepth'
    | 'reservedConcurrency'
    | 'sla'
    | 'slaAvailability'
    | 'slaCreditPercent'
    | 'features'
    | 'grants'
  >
>;

/** The plan catalogue, cached in every process and refreshed on every process when an admin edits it. */
export class PlanCatalog {
  private constructor(
    private readonly prisma: PrismaClient,
    private readonly cache: InvalidatingCache<Plan[]>,
  ) {}

  static async create(prisma: PrismaClient, pubsub: PubSub): Promise<PlanCatalog> {
    return new PlanCatalog(prisma, await InvalidatingCache.create(pubsub, 'plans:invalidate', { ttlMs: 60_000 }));
  }

  /** Cheapest first. */
  list(): Promise<Plan[]> {
    return this.cache.get('all', async () => (await this.prisma.plan.findMany()).sort((a, b) => ORDER[a.code] - ORDER[b.code]).map(toPlan));
  }

  async get(code: PlanCode): Promise<Plan> {
    const plan = (await this.list()).find((candidate) => candidate.code === code);
    if (!plan) throw new Error(`plan ${code} is missing from the catalogue`);
    return plan;
  }

  /** The cheapest plan that includes `grant`: what a FORBIDDEN error recommends. */
  async cheapestWith(grant: Grant): Promise<Plan | undefined> {
    return (await this.list()).find((plan) => plan.grants.includes(grant));
  }

  async update(code: PlanCode, input: PlanChanges, actor: Actor): Promise<Plan> {
    const { grants, ...columns } = parseInput(planChanges, input);
    const plan = await this.prisma.$transaction(async (tx) => {
      const before = await tx.plan.findUniqueOrThrow({ where: { code } });
      const after = await tx.plan.update({ where: { code }, data: { ...columns, ...(grants ? { entitlements: { grants } } : {}) } });
      await recordAudit(tx, actor, { action: 'plan.update', targetType: 'Plan', targetId: code, before: toPlan(before), after: toPlan(after) });
      return toPlan(after);
    });
    await this.cache.invalidate();
    return plan;
  }
}
