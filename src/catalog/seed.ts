import type { PrismaClient } from '../generated/prisma/client';
import { PlanCode } from '../generated/prisma/enums';
import { CUSTOMER_RISK_SCORES } from './customer-risk-scores';
import { CUSTOMER_SPEND_FEATURES, MERCHANT_RISK } from './operator-products';
import { SchemaRegistry } from './registry/service';
import { toColumns } from './service';
import { validateDataProduct, type DataProductDefinition } from './validation';

/** The products a new installation starts with. */
export const SEEDED_DATA_PRODUCTS: readonly DataProductDefinition[] = [CUSTOMER_RISK_SCORES, CUSTOMER_SPEND_FEATURES, MERCHANT_RISK];

/**
 * Inserts the seeded products that are missing, PUBLISHED. Existing rows are left alone: an
 * admin's newer versions or a deprecation survive restarts, and a second start adds nothing.
 * The definitions are checked like any publication except against the running GraphQL schema:
 * their types belong to other domains (RiskScore to risk), and seeding must not depend on them.
 */
export async function seedDataProducts(prisma: PrismaClient, definitions: readonly DataProductDefinition[] = SEEDED_DATA_PRODUCTS): Promise<void> {
  const now = new Date();
  const products = definitions.map((definition) => {
    const result = validateDataProduct(definition, { planCodes: Object.values(PlanCode) });
    if (result.problems) throw new Error(`seeded data product ${definition.slug} is invalid: ${result.problems.map((problem) => problem.message).join('; ')}`);
    return result.product;
  });
  await prisma.dataProduct.createMany({
    data: products.map((product) => ({ ...toColumns(product), lifecycle: 'PUBLISHED' as const, publishedAt: now })),
    skipDuplicates: true,
  });
  const registry = new SchemaRegistry(prisma);
  for (const { slug, avro } of products) if (avro) await seedAvroContract(prisma, registry, slug, avro);
}

/**
 * Registers a seeded product's Avro schema if its row has no Avro contract yet: a new
 * installation, or one created before the registry existed (its product is otherwise left as
 * it is). Starting again registers nothing: the row has its subject.
 */
async function seedAvroContract(prisma: PrismaClient, registry: SchemaRegistry, slug: string, avro: { subject: string; schema: unknown }): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const row = await tx.dataProduct.findUnique({ where: { slug }, select: { id: true, eventAvroSubject: true } });
    if (!row || row.eventAvroSubject) return;
    const { id } = await registry.register(avro.subject, avro.schema, { tx, dataProductId: row.id });
    await tx.dataProduct.update({ where: { id: row.id }, data: { eventAvroSubject: avro.subject, eventAvroSchemaId: id } });
  });
}
