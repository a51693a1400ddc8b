import { createHash } from 'node:crypto';
import avro from 'avsc';
import { invalidSchema, schemaTooLarge } from './errors';

/** Largest schema text the registry stores (the catalog's limit for event schemas too). */
export const SCHEMA_MAX_BYTES = 64 * 1024;

export const COMPATIBILITY_LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
/** Confluent's default, and ours until an admin sets another. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

export const isCompatibilityLevel = (value: unknown): value is CompatibilityLevel =>
  typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);

/** A schema as the registry keeps it: the text without insignificant whitespace, its fingerprint, and avsc's type. */
export interface ParsedSchema {
  text: string;
  fingerprint: string;
  type: avro.Type;
}

/** Parses an Avro schema given as JSON text (what the REST API carries) or as a JSON value (what the catalog holds). Throws 42201/42209. */
export function parseAvroSchema(schema: unknown): ParsedSchema {
  let value = schema;
  if (typeof schema === 'string') {
    if (Buffer.byteLength(schema) > SCHEMA_MAX_BYTES) throw schemaTooLarge(SCHEMA_MAX_BYTES);
    try {
      value = JSON.parse(schema);
    } catch (error) {
      throw invalidSchema(`not JSON: ${(error as Error).message}`);
    }
  }
  const text = JSON.stringify(value);
  if (text === undefined) throw invalidSchema('not a JSON value');
  if (Buffer.byteLength(text) > SCHEMA_MAX_BYTES) throw schemaTooLarge(SCHEMA_MAX_BYTES);
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(value as avro.Schema);
  } catch (error) {
    throw invalidSchema((error as Error).message);
  }
  return { text, fingerprint: createHash('sha256').update(text).digest('hex'), type };
}

/** Why data written with `writer` cannot be read with `reader` under Avro's schema resolution, or undefined when it can. */
function resolutionProblem(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Why `candidate` may not follow `earlier` (oldest first) under `level`, or undefined when it
 * may: BACKWARD, the new schema reads data written with the earlier one; FORWARD, the earlier
 * one reads data written with the new; FULL, both. Plain levels compare with the latest version,
 * _TRANSITIVE ones with every version.
 */
export function compatibilityProblem(
  level: CompatibilityLevel,
  candidate: avro.Type,
  earlier: ReadonlyArray<{ version: number; type: avro.Type }>,
): string | undefined {
  if (level === 'NONE' || earlier.length === 0) return undefined;
  const against = level.endsWith('_TRANSITIVE') ? earlier : earlier.slice(-1);
  const backward = !level.startsWith('FORWARD');
  const forward = !level.startsWith('BACKWARD');
  for (const { version, type } of against) {
    const cannotReadOld = backward ? resolutionProblem(candidate, type) : undefined;
    if (cannotReadOld) return `${level}: the new schema cannot read data written with version ${version} (${cannotReadOld})`;
    const oldCannotRead = forward ? resolutionProblem(type, candidate) : undefined;
    if (oldCannotRead) return `${level}: version ${version} cannot read data written with the new schema (${oldCannotRead})`;
  }
  return undefined;
}
