import type { GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { Prisma, type PrismaClient } from '../generated/prisma/client';
import type { DataProductLifecycle, PlanCode } from '../generated/prisma/enums';
import { recordAudit, type Actor } from '../audit/audit';
import { badInput, notFound, TollgraphError } from '../errors';
import type { PlanCatalog } from '../plans/service';
import type { AvroContract, DataProduct, QualityMetrics } from './data-product.types';
import { RegistryError } from './registry/errors';
import type { SchemaRegistry } from './registry/service';
import { compareSemver } from './semver';
import { invalidDataProduct, validateDataProduct, type DataProductDefinition, type Slo, type StoredAccessPolicy, type ValidDataProduct } from './validation';

/** Every read of a product row brings its Avro contract: the registered schema and its version under the product's subject. */
const WITH_AVRO = {
  eventAvroSchema: { select: { schema: true, versions: { select: { subjectName: true, version: true } } } },
} satisfies Prisma.DataProductInclude;
type DataProductRow = Prisma.DataProductGetPayload<{ include: typeof WITH_AVRO }>;

function toAvroContract(row: DataProductRow): AvroContract | null {
  if (!row.eventAvroSubject || row.eventAvroSchemaId === null || !row.eventAvroSchema) return null;
  return {
    subject: row.eventAvroSubject,
    schemaId: row.eventAvroSchemaId,
    version: row.eventAvroSchema.versions.find((version) => version.subjectName === row.eventAvroSubject)?.version ?? null,
    schema: JSON.parse(row.eventAvroSchema.schema) as unknown,
  };
}

const VISIBLE_TO_SUBSCRIBERS: DataProductLifecycle[] = ['PUBLISHED', 'DEPRECATED'];

const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function toQuality(quality: unknown): QualityMetrics {
  const q = (quality ?? {}) as Record<string, unknown>;
  const measuredAt = typeof q.measuredAt === 'string' ? new Date(q.measuredAt) : null;
  return {
    freshnessLagP99Ms: number(q.freshnessLagP99Ms),
    eventsPerSecond: number(q.eventsPerSecond),
    dlqRate: number(q.dlqRate),
    completeness: number(q.completeness),
    measuredAt: measuredAt && !Number.isNaN(measuredAt.getTime()) ? measuredAt : null,
  };
}

/** A catalogue row as the API shows it (also what the audit log records). */
export function toDataProduct(row: DataProductRow): DataProduct {
  const policy = row.accessPolicy as unknown as StoredAccessPolicy;
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    domain: row.domain,
    owner: row.owner,
    description: row.description,
    schema: { graphqlType: row.graphqlType, eventJsonSchema: row.eventSchema as Record<string, unknown>, eventAvro: toAvroContract(row) },
    slo: row.slo as unknown as Slo,
    quality: toQuality(row.quality),
    qualityUpdatedAt: row.qualityUpdatedAt,
    accessPolicy: {
      plans: policy.plans,
      fields: policy.plans.filter((plan) => policy.fields[plan]).map((plan) => ({ plan, fields: policy.fields[plan] ?? [] })),
    },
    pricing: { addOnMonthlyPriceCents: row.addOnMonthlyPriceCents, unitAmountDecimal: row.unitAmountDecimal },
    version: row.version,
    status: row.lifecycle,
    deprecated: row.lifecycle === 'DEPRECATED',
    publishedAt: row.publishedAt,
    deprecatedAt: row.deprecatedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The columns a definition sets (quality and the lifecycle dates are managed separately). */
export function toColumns(product: ValidDataProduct) {
  return {
    slug: product.slug,
    name: product.name,
    domain: product.domain,
    owner: product.owner,
    description: product.description,
    graphqlType: product.graphqlType,
    eventSchema: product.eventSchema as Prisma.InputJsonObject,
    slo: { ...product.slo },
    accessPolicy: product.accessPolicy as unknown as Prisma.InputJsonObject,
    version: product.version,
    addOnMonthlyPriceCents: product.pricing?.addOnMonthlyPriceCents ?? null,
    unitAmountDecimal: product.pricing?.unitAmountDecimal ?? null,
  };
}

/** Who may write a domain's products: decided by the caller (a PUBLISHER key, its domains); trusted callers may write any. */
export type DomainCheck = (domain: string) => boolean;
const ANY_DOMAIN: DomainCheck = () => true;

function notYourDomain(domain: string): TollgraphError {
  return new TollgraphError('FORBIDDEN', `Data products of domain "${domain}" are published by that domain's PUBLISHER keys or an ADMIN key.`, {
    extensions: { domain },
  });
}

export interface ViewOptions {
  /** Whose DRAFTs the viewer sees: ADMIN keys every domain's, a PUBLISHER its domains'; subscribers none. */
  draftsOf: DomainCheck;
}

const visibleTo = (row: { lifecycle: DataProductLifecycle; domain: string }, { draftsOf }: ViewOptions) =>
  VISIBLE_TO_SUBSCRIBERS.includes(row.lifecycle) || draftsOf(row.domain);

/** The marketplace's filters (all optional); `plan` is the viewer's, which `includedInPlan` is about. */
export interface MarketplaceFilter {
  plan: PlanCode;
  includedInPlan?: boolean | null;
  maxFreshnessSeconds?: number | null;
  minAvailability?: number | null;
  /** Products sold as an add-on at this price or less (cents a month). */
  maxAddOnPriceCents?: number | null;
}

function matches(product: DataProduct, filter: MarketplaceFilter): boolean {
  const { plan, includedInPlan, maxFreshnessSeconds, minAvailability, maxAddOnPriceCents } = filter;
  const addOn = product.pricing.addOnMonthlyPriceCents;
  return (
    (includedInPlan == null || product.accessPolicy.plans.includes(plan) === includedInPlan) &&
    (maxFreshnessSeconds == null || product.slo.freshnessSeconds <= maxFreshnessSeconds) &&
    (minAvailability == null || product.slo.availability >= minAvailability) &&
    (maxAddOnPriceCents == null || (addOn !== null && addOn <= maxAddOnPriceCents))
  );
}

/**
 * The data-product catalogue. Publishing validates a product completely (see validation.ts)
 * before anything is written, and writes the product and its audit entry in one transaction.
 * Reads are not cached: they are rare and small, and quality changes continuously from the
 * pipeline's process.
 */
export class DataProductCatalog {
  private constructor(
    private readonly prisma: PrismaClient,
    private readonly plans: PlanCatalog,
    private readonly registry: SchemaRegistry,
    private readonly changed: () => Promise<void>,
  ) {}

  /** `changed` runs after every write that commits (the gateways' cached access terms must follow). */
  static create(prisma: PrismaClient, plans: PlanCatalog, registry: SchemaRegistry, changed: () => Promise<void> = async () => {}): DataProductCatalog {
    return new DataProductCatalog(prisma, plans, registry, changed);
  }

  /** By domain, then slug; `filter`: only those the marketplace filter keeps. */
  async list(domain: string | undefined, view: ViewOptions, filter?: MarketplaceFilter): Promise<DataProduct[]> {
    const rows = await this.prisma.dataProduct.findMany({
      where: { ...(domain !== undefined ? { domain: domain.trim() } : {}) },
      orderBy: [{ domain: 'asc' }, { slug: 'asc' }],
      include: WITH_AVRO,
    });
    const products = rows.filter((row) => visibleTo(row, view)).map(toDataProduct);
    return filter ? products.filter((product) => matches(product, filter)) : products;
  }

  /** By id or by slug; null when there is none the viewer may see. */
  async find(idOrSlug: string, view: ViewOptions): Promise<DataProduct | null> {
    const row = await this.findRow(idOrSlug);
    return row && visibleTo(row, view) ? toDataProduct(row) : null;
  }

  /**
   * Validates and publishes a product: a new slug is created, an existing one gets the new
   * version (which must be higher than the published one), PUBLISHED again if it was deprecated.
   * `schema` is the running API's, which `graphqlType` and the policy's fields must exist in.
   */
  publish(input: DataProductDefinition, schema: GraphQLSchema, actor: Actor, mayWrite: DomainCheck = ANY_DOMAIN): Promise<DataProduct> {
    return this.write(input, schema, 'PUBLISHED', actor, mayWrite);
  }

  /** Validates and saves a product that has never been published, as a DRAFT only ADMIN keys see. */
  saveDraft(input: DataProductDefinition, schema: GraphQLSchema, actor: Actor, mayWrite: DomainCheck = ANY_DOMAIN): Promise<DataProduct> {
    return this.write(input, schema, 'DRAFT', actor, mayWrite);
  }

  /** Marks a published product DEPRECATED; deprecating it again changes nothing. */
  async deprecate(idOrSlug: string, actor: Actor, mayWrite: DomainCheck = ANY_DOMAIN): Promise<DataProduct> {
    const found = await this.findRow(idOrSlug);
    if (!found) throw notFound('data product');
    const row = await this.prisma.$transaction(async (tx) => {
      const before = await this.lock(tx, found.slug);
      if (!before) throw notFound('data product');
      if (!mayWrite(before.domain)) throw notYourDomain(before.domain);
      if (before.lifecycle === 'DEPRECATED') return before;
      if (before.lifecycle === 'DRAFT')
        throw badInput(`data product ${before.slug} is a DRAFT: only a published product can be deprecated`, { fields: ['id'] });
      const after = await tx.dataProduct.update({ where: { id: before.id }, data: { lifecycle: 'DEPRECATED', deprecatedAt: new Date() }, include: WITH_AVRO });
      await recordAudit(tx, actor, {
        action: 'dataProduct.deprecate',
        targetType: 'DataProduct',
        targetId: after.id,
        before: toDataProduct(before),
        after: toDataProduct(after),
      });
      return after;
    });
    await this.changed();
    return toDataProduct(row);
  }

  /** Plan codes a policy may name: the plan catalogue's. */
  async planCodes(): Promise<PlanCode[]> {
    return (await this.plans.list()).map((plan) => plan.code);
  }

  private async write(
    input: DataProductDefinition,
    schema: GraphQLSchema,
    lifecycle: 'PUBLISHED' | 'DRAFT',
    actor: Actor,
    mayWrite: DomainCheck,
  ): Promise<DataProduct> {
    const result = validateDataProduct(input, { planCodes: await this.planCodes(), schema });
    if (result.problems) throw invalidDataProduct(result.problems);
    const { product } = result;
    if (!mayWrite(product.domain)) throw notYourDomain(product.domain);
    try {
      const row = await this.prisma.$transaction(async (tx) => {
        const before = await this.lock(tx, product.slug);
        // Under the row's lock: a product cannot be taken over by publishing it into another domain.
        if (before && !mayWrite(before.domain)) throw notYourDomain(before.domain);
        if (before) checkNewVersion(before, product, lifecycle);
        const data = { ...toColumns(product), lifecycle, publishedAt: lifecycle === 'PUBLISHED' ? new Date() : null, deprecatedAt: null };
        const written = before ? await tx.dataProduct.update({ where: { id: before.id }, data }) : await tx.dataProduct.create({ data });
        // The Avro contract in the same transaction: an incompatible schema leaves nothing written.
        const avro = product.avro ? await this.registerAvro(tx, written.id, product.avro, before) : undefined;
        const after = await tx.dataProduct.update({ where: { id: written.id }, data: avro ?? {}, include: WITH_AVRO });
        await recordAudit(tx, actor, {
          action: lifecycle === 'PUBLISHED' ? 'dataProduct.publish' : 'dataProduct.saveDraft',
          targetType: 'DataProduct',
          targetId: after.id,
          before: before ? toDataProduct(before) : undefined,
          after: toDataProduct(after),
        });
        return after;
      });
      await this.changed();
      return toDataProduct(row);
    } catch (error) {
      // Two first publications of one slug at once: the unique index lets one through.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        throw badInput(`data product ${product.slug} was created by another request at the same moment; retry to publish a new version`, { fields: ['slug'] });
      }
      throw error;
    }
  }

  /** Registers the product's Avro schema under its subject (compatibility checked); the columns that point at it. */
  private async registerAvro(tx: Prisma.TransactionClient, productId: string, avro: NonNullable<ValidDataProduct['avro']>, before: DataProductRow | null) {
    if (before?.eventAvroSubject && before.eventAvroSubject !== avro.subject) {
      throw badInput(`eventAvroSubject of ${before.slug} is "${before.eventAvroSubject}": a product's subject does not change`, {
        fields: ['eventAvroSubject'],
      });
    }
    try {
      const { id } = await this.registry.register(avro.subject, avro.schema, { tx, dataProductId: productId });
      return { eventAvroSubject: avro.subject, eventAvroSchemaId: id };
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      throw badInput(`eventAvroSchema was refused by the schema registry (subject "${avro.subject}"): ${error.message}`, {
        fields: ['eventAvroSchema'],
        registryErrorCode: error.errorCode,
      });
    }
  }

  /** The row of `slug`, locked until the transaction ends, so concurrent publications queue. */
  private async lock(tx: Prisma.TransactionClient, slug: string): Promise<DataProductRow | null> {
    await tx.$queryRaw`SELECT id FROM data_products WHERE slug = ${slug} FOR UPDATE`;
    return tx.dataProduct.findUnique({ where: { slug }, include: WITH_AVRO });
  }

  private findRow(idOrSlug: string): Promise<DataProductRow | null> {
    const key = idOrSlug.trim();
    if (!key || key.length > 200) return Promise.resolve(null);
    // A UUID is also a well-formed slug, so it may name either.
    const where = z.uuid().safeParse(key).success ? { OR: [{ id: key }, { slug: key }] } : { slug: key };
    return this.prisma.dataProduct.findFirst({ where, include: WITH_AVRO });
  }
}

function checkNewVersion(before: DataProductRow, product: ValidDataProduct, lifecycle: 'PUBLISHED' | 'DRAFT'): void {
  // A draft that was never published may be rewritten freely.
  if (!before.publishedAt) return;
  if (lifecycle === 'DRAFT') {
    throw badInput(`data product ${product.slug} is already published (version ${before.version}); publish a higher version instead of a draft`, {
      fields: ['slug'],
    });
  }
  if (compareSemver(product.version, before.version) <= 0) {
    throw badInput(`version ${product.version} of ${product.slug} must be higher than the published version ${before.version}`, { fields: ['version'] });
  }
}
