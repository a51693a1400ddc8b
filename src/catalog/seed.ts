import type { PrismaClient } from '../generated/prisma/client';
import { PlanCode } from '../generated/prisma/enums';
import { CUSTOMER_RISK_SCORES } from './customer-risk-scores';
import { toColumns } from './service';
import { validateDataProduct, type DataProductDefinition } from './validation';

/** The products a new installation starts with. */
export const SEEDED_DATA_PRODUCTS: readonly DataProductDefinition[] = [CUSTOMER_RISK_SCORES];

/**
 * Inserts the seeded products that are missing, PUBLISHED. Existing rows are left alone: an
 * admin's newer versions or a deprecation survive restarts, and a second start adds nothing.
 * The definitions are checked like any publication except against the running GraphQL schema:
 * their types belong to other domains (RiskScore to risk), and seeding must not depend on them.
 */
export async function seedDataProducts(prisma: PrismaClient, definitions: readonly DataProductDefinition[] = SEEDED_DATA_PRODUCTS): Promise<void> {
  const now = new Date();
  const data = definitions.map((definition) => {
    const result = validateDataProduct(definition, { planCodes: Object.values(PlanCode) });
    if (result.problems) throw new Error(`seeded data product ${definition.slug} is invalid: ${result.problems.map((problem) => problem.message).join('; ')}`);
    return {
      ...toColumns(result.product),
      lifecycle: 'PUBLISHED' as const,
      publishedAt: now,
    };
  });
  await prisma.dataProduct.createMany({ data, skipDuplicates: true });
}
