import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Largest event schema the catalog stores (serialised JSON). */
export const EVENT_SCHEMA_MAX_BYTES = 64 * 1024;

/**
 * A fresh validator per schema: compiling caches schemas by `$id`, so a shared instance would
 * refuse a product's second version with the same `$id`, and would keep every schema ever tried.
 * Unknown keywords are errors (they are nearly always typos such as `requried`); references are
 * resolved only within the schema, never fetched.
 */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, strictSchema: true, strictNumbers: true, logger: false });
  addFormats(ajv);
  return ajv;
}

/**
 * Why `schema` is not a usable JSON Schema (draft 2020-12) of an event, or undefined when it is.
 * The message is ajv's, with the path into the schema.
 */
export function jsonSchemaProblem(schema: unknown, name = 'eventSchema'): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return `${name} must be a JSON Schema object`;
  if (JSON.stringify(schema).length > EVENT_SCHEMA_MAX_BYTES) return `${name} must be at most ${EVENT_SCHEMA_MAX_BYTES / 1024} KiB of JSON`;
  const record = schema as Record<string, unknown>;
  if (record.$schema !== undefined && record.$schema !== DRAFT_2020_12) return `${name}.$schema must be "${DRAFT_2020_12}" or left out`;
  if (record.type !== 'object') return `${name} must describe a JSON object (an event), with "type": "object" at its top`;
  const ajv = newAjv();
  try {
    // Against the meta-schema first (every mistake, with its path), then compiled (strict
    // keywords, references, regular expressions).
    if (!ajv.validateSchema(schema)) return `${name} is not a valid JSON Schema (draft 2020-12): ${ajv.errorsText(ajv.errors, { dataVar: name })}`;
    ajv.compile(schema);
    return undefined;
  } catch (error) {
    return `${name} is not a valid JSON Schema (draft 2020-12): ${(error as Error).message}`;
  }
}

/** A validator of events against a catalog product's schema (e.g. for the pipeline or tests). */
export function compileEventSchema(schema: object): (event: unknown) => { valid: true } | { valid: false; errors: string } {
  const ajv = newAjv();
  const validate = ajv.compile(schema);
  return (event) => (validate(event) ? { valid: true } : { valid: false, errors: ajv.errorsText(validate.errors, { dataVar: 'event' }) });
}
