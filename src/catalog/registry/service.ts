import type avro from 'avsc';
import type { Prisma, PrismaClient } from '../../generated/prisma/client';
import type { DataProductLifecycle, PlanCode } from '../../generated/prisma/enums';
import type { StoredAccessPolicy } from '../validation';
import { readSetting, writeSetting } from '../../settings/store';
import { compatibilityProblem, DEFAULT_COMPATIBILITY, isCompatibilityLevel, parseAvroSchema, type CompatibilityLevel } from './avro';
import {
  incompatibleSchema,
  invalidCompatibility,
  invalidSubject,
  RegistryError,
  schemaNotFound,
  subjectConfigNotFound,
  subjectNotFound,
  versionNotFound,
} from './errors';

/** Who reads: ADMIN keys read every subject; other keys those of the data products their plan may use. */
export interface RegistryReader {
  admin: boolean;
  plan?: PlanCode;
}

/** A version of a subject, as `GET /subjects/{subject}/versions/{version}` answers it. */
export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

export interface Registration {
  id: number;
  version: number;
  /** False when the subject already had this schema (its version is returned, nothing is written). */
  created: boolean;
}

export interface RegisterOptions {
  /** Register within this transaction (the catalog's publication), so both commit or neither. */
  tx?: Prisma.TransactionClient;
  /** Binds the subject to this data product (a new subject, or one bound to no product yet). */
  dataProductId?: string;
  /** The same by slug (for a pipeline that registers its product's output schema). */
  dataProductSlug?: string;
}

type Db = PrismaClient | Prisma.TransactionClient;
type ProductAccess = { lifecycle: DataProductLifecycle; accessPolicy: Prisma.JsonValue } | null;

const GLOBAL_KEY = 'registry.compatibility';
const SUBJECT_MAX = 255;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;
const validSubject = (subject: string) => subject.length >= 1 && subject.length <= SUBJECT_MAX && !CONTROL.test(subject);

function mayRead(reader: RegistryReader, product: ProductAccess): boolean {
  if (reader.admin) return true;
  if (!product || !reader.plan || product.lifecycle === 'DRAFT') return false;
  return (product.accessPolicy as unknown as StoredAccessPolicy).plans.includes(reader.plan);
}

/**
 * The catalog's schema registry: Avro schemas under subjects, with Confluent's semantics (one
 * id per distinct schema text whatever subject registers it, versions 1, 2, 3... per subject,
 * compatibility checked through Avro schema resolution before anything is written). Schema ids
 * are a database sequence: stable, never reused, so readers may cache a schema by id forever.
 */
export class SchemaRegistry {
  /** Parsed schemas by id (immutable), for compatibility checks. */
  private readonly types = new Map<number, avro.Type>();

  constructor(private readonly prisma: PrismaClient) {}

  /** Subjects with at least one version that `reader` may read, by name. */
  async subjects(reader: RegistryReader): Promise<string[]> {
    const rows = await this.prisma.registrySubject.findMany({
      where: { versions: { some: {} } },
      select: { name: true, dataProduct: { select: { lifecycle: true, accessPolicy: true } } },
      orderBy: { name: 'asc' },
    });
    return rows.filter((row) => mayRead(reader, row.dataProduct)).map((row) => row.name);
  }

  /** The subject's version numbers; 40401 when it has none or `reader` may not read it (the two are not told apart). */
  async versions(reader: RegistryReader, subject: string): Promise<number[]> {
    await this.readable(reader, subject);
    const rows = await this.prisma.registryVersion.findMany({ where: { subjectName: subject }, select: { version: true }, orderBy: { version: 'asc' } });
    if (!rows.length) throw subjectNotFound(subject);
    return rows.map((row) => row.version);
  }

  async version(reader: RegistryReader, subject: string, version: number | 'latest'): Promise<SubjectVersion> {
    await this.readable(reader, subject);
    const row = await this.prisma.registryVersion.findFirst({
      where: { subjectName: subject, ...(version === 'latest' ? {} : { version }) },
      orderBy: { version: 'desc' },
      include: { schema: { select: { schema: true } } },
    });
    if (!row) {
      if (version === 'latest' || !(await this.prisma.registryVersion.count({ where: { subjectName: subject } }))) throw subjectNotFound(subject);
      throw versionNotFound(version);
    }
    return { subject, version: row.version, id: row.schemaId, schema: row.schema.schema };
  }

  /** `POST /subjects/{subject}`: the version of `subject` that has this schema; 40403 when none has. */
  async lookup(reader: RegistryReader, subject: string, schema: unknown): Promise<SubjectVersion> {
    await this.readable(reader, subject);
    const parsed = parseAvroSchema(schema);
    const rows = await this.prisma.registryVersion.findMany({
      where: { subjectName: subject },
      include: { schema: { select: { schema: true, fingerprint: true } } },
    });
    if (!rows.length) throw subjectNotFound(subject);
    const row = rows.find((candidate) => candidate.schema.fingerprint === parsed.fingerprint);
    if (!row) throw schemaNotFound();
    return { subject, version: row.version, id: row.schemaId, schema: row.schema.schema };
  }

  /** The schema text of `id`, if `reader` may read a subject that uses it (40403 otherwise). */
  async schemaById(reader: RegistryReader, id: number): Promise<string> {
    const row = await this.prisma.registrySchema.findUnique({
      where: { id },
      select: { schema: true, versions: { select: { subject: { select: { dataProduct: { select: { lifecycle: true, accessPolicy: true } } } } } } },
    });
    if (!row || !(reader.admin || row.versions.some((version) => mayRead(reader, version.subject.dataProduct)))) throw schemaNotFound(id);
    return row.schema;
  }

  /** Schema texts by id, for trusted readers in this installation (the risk consumer): the ids not registered are absent. */
  async schemasByIds(ids: readonly number[]): Promise<Map<number, string>> {
    const rows = await this.prisma.registrySchema.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true, schema: true } });
    return new Map(rows.map((row) => [row.id, row.schema]));
  }

  /** The global level. */
  async globalCompatibility(db: Db = this.prisma): Promise<CompatibilityLevel> {
    const level = await readSetting(db, GLOBAL_KEY);
    return isCompatibilityLevel(level) ? level : DEFAULT_COMPATIBILITY;
  }

  /** The subject's own level; 40408 when it has none (unless `defaultToGlobal`, Confluent's query parameter). */
  async subjectCompatibility(reader: RegistryReader, subject: string, defaultToGlobal = false): Promise<CompatibilityLevel> {
    const row = await this.readable(reader, subject);
    if (row?.compatibility) return row.compatibility;
    if (defaultToGlobal) return this.globalCompatibility();
    throw subjectConfigNotFound(subject);
  }

  /** Sets the global level, or a subject's (a subject may be configured before its first version). */
  async setCompatibility(level: unknown, subject?: string): Promise<CompatibilityLevel> {
    if (!isCompatibilityLevel(level)) throw invalidCompatibility(level);
    if (subject === undefined) {
      await writeSetting(this.prisma, GLOBAL_KEY, level);
    } else {
      if (!validSubject(subject)) throw invalidSubject(subject);
      await this.prisma.registrySubject.upsert({ where: { name: subject }, create: { name: subject, compatibility: level }, update: { compatibility: level } });
    }
    return level;
  }

  /**
   * `POST /compatibility/subjects/{subject}/versions/{version}`: whether `schema` could be
   * registered, against that version ('latest': as registering would check, by the subject's level).
   */
  async testCompatibility(
    reader: RegistryReader,
    subject: string,
    version: number | 'latest',
    schema: unknown,
  ): Promise<{ is_compatible: boolean; messages: string[] }> {
    const row = await this.readable(reader, subject);
    const parsed = parseAvroSchema(schema);
    const versions = await this.earlier(this.prisma, subject);
    if (!versions.length) throw subjectNotFound(subject);
    const level = row?.compatibility ?? (await this.globalCompatibility());
    let problem: string | undefined;
    if (version === 'latest') problem = compatibilityProblem(level, parsed.type, versions);
    else {
      const against = versions.find((candidate) => candidate.version === version);
      if (!against) throw versionNotFound(version);
      // One named version: its direction(s) by the level, never transitive.
      problem = compatibilityProblem(level.replace('_TRANSITIVE', '') as CompatibilityLevel, parsed.type, [against]);
    }
    return { is_compatible: !problem, messages: problem ? [problem] : [] };
  }

  /**
   * Registers `schema` under `subject` (ADMIN; the caller checks). The same schema again returns
   * its existing version. Otherwise it must be compatible with the subject's earlier versions by
   * the subject's level (else the global one): 409, and nothing is written. The subject's row is
   * locked for the transaction, so concurrent registrations of one subject queue.
   */
  async register(subject: string, schema: unknown, { tx, dataProductSlug, ...options }: RegisterOptions = {}): Promise<Registration> {
    if (!validSubject(subject)) throw invalidSubject(subject);
    const parsed = parseAvroSchema(schema);
    const work = async (db: Prisma.TransactionClient): Promise<Registration> => {
      let dataProductId = options.dataProductId;
      if (dataProductSlug) {
        dataProductId = (await db.dataProduct.findUnique({ where: { slug: dataProductSlug }, select: { id: true } }))?.id;
        if (!dataProductId) throw new RegistryError(422, 42205, `Data product '${dataProductSlug}' does not exist.`);
      }
      await db.$executeRaw`INSERT INTO registry_subjects (name, data_product_id) VALUES (${subject}, ${dataProductId ?? null}::uuid) ON CONFLICT (name) DO NOTHING`;
      const [row] = await db.$queryRaw<Array<{ data_product_id: string | null; compatibility: CompatibilityLevel | null }>>`
        SELECT data_product_id, compatibility::text AS compatibility FROM registry_subjects WHERE name = ${subject} FOR UPDATE`;
      if (dataProductId && row.data_product_id !== dataProductId) {
        if (row.data_product_id) throw new RegistryError(422, 42205, `Subject '${subject}' belongs to another data product.`);
        await db.registrySubject.update({ where: { name: subject }, data: { dataProductId } });
      }
      const versions = await this.earlier(db, subject);
      const same = versions.find((version) => version.fingerprint === parsed.fingerprint);
      if (same) return { id: same.id, version: same.version, created: false };
      const problem = compatibilityProblem(row.compatibility ?? (await this.globalCompatibility(db)), parsed.type, versions);
      if (problem) throw incompatibleSchema(`Schema being registered is incompatible with an earlier schema for subject "${subject}": ${problem}`);
      await db.$executeRaw`INSERT INTO registry_schemas (schema, fingerprint) VALUES (${parsed.text}, ${parsed.fingerprint}) ON CONFLICT (fingerprint) DO NOTHING`;
      const { id } = await db.registrySchema.findUniqueOrThrow({ where: { fingerprint: parsed.fingerprint }, select: { id: true } });
      const version = (versions.at(-1)?.version ?? 0) + 1;
      await db.registryVersion.create({ data: { subjectName: subject, version, schemaId: id } });
      this.types.set(id, parsed.type);
      return { id, version, created: true };
    };
    return tx ? work(tx) : this.prisma.$transaction(work);
  }

  /** The subject's versions, oldest first, with their parsed schemas. */
  private async earlier(db: Db, subject: string) {
    const rows = await db.registryVersion.findMany({ where: { subjectName: subject }, orderBy: { version: 'asc' }, include: { schema: true } });
    return rows.map((row) => {
      let type = this.types.get(row.schemaId);
      if (!type) this.types.set(row.schemaId, (type = parseAvroSchema(row.schema.schema).type));
      return { version: row.version, id: row.schemaId, fingerprint: row.schema.fingerprint, type };
    });
  }

  /**
   * The subject's row when `reader` may read it; 40401 otherwise (a subject of a product the
   * caller's plan does not include reads as absent). ADMIN keys get undefined for a subject
   * without a row.
   */
  private async readable(reader: RegistryReader, subject: string) {
    if (!validSubject(subject)) throw subjectNotFound(subject);
    const row = await this.prisma.registrySubject.findUnique({
      where: { name: subject },
      select: { compatibility: true, dataProduct: { select: { lifecycle: true, accessPolicy: true } } },
    });
    if (!mayRead(reader, row?.dataProduct ?? null)) throw subjectNotFound(subject);
    return row ?? undefined;
  }
}
