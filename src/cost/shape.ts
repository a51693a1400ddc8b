import { GraphQLError, Kind, parse, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import { TollgraphError } from '../errors';

/**
 * Bounds on a document's shape that no plan lifts. They are checked on the parsed document before
 * GraphQL validation and before anything else reads it, because validation (which compares every
 * pair of fields sharing a response key) and our own analysis grow with the document as it is
 * *after* its fragments are expanded, which can be exponential in its length.
 */
export const DOCUMENT_LIMITS = {
  /** Lexer tokens: the parser gives up there (graphql's `maxTokens`), so a huge document costs little. */
  maxTokens: 2_000,
  /** Field selections with every fragment spread counted in full: what validation may walk. */
  maxFields: 500,
  /** Selections of one response key within one selection set: validation compares them pairwise. */
  maxSameKey: 20,
  /** Depth of any selection, introspection included (a plan may allow less for data fields). */
  maxDepth: 16,
  /** Aliases, counted through fragments, introspection included. */
  maxAliases: 30,
} as const;

/** The parse options every transport uses. */
export const PARSE_OPTIONS = { maxTokens: DOCUMENT_LIMITS.maxTokens } as const;

interface Shape {
  fields: number;
  depth: number;
  aliases: number;
  /** Response keys selected directly in this selection set (through fragments), with how often. */
  keys: Map<string, number>;
}

type LimitName = Exclude<keyof typeof DOCUMENT_LIMITS, 'maxTokens'>;

function tooComplex(limit: LimitName, message: string): TollgraphError {
  return new TollgraphError('QUERY_TOO_COMPLEX', `${message}; the maximum is ${DOCUMENT_LIMITS[limit]}.`, {
    extensions: { limit, maximum: DOCUMENT_LIMITS[limit] },
  });
}

/**
 * Measures the document in one pass, each fragment once (a spread reuses its fragment's measure),
 * and throws QUERY_TOO_COMPLEX at the first bound crossed: the work is linear in the document's
 * length whatever its fragments expand to. A fragment cycle measures as empty here; validation
 * reports it.
 */
export function checkDocumentShape(document: DocumentNode): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const measured = new Map<string, Shape | 'measuring'>();
  const empty = (): Shape => ({ fields: 0, depth: 0, aliases: 0, keys: new Map() });

  const addKey = (into: Shape, key: string, times: number) => {
    const count = (into.keys.get(key) ?? 0) + times;
    if (count > DOCUMENT_LIMITS.maxSameKey) throw tooComplex('maxSameKey', `"${key}" is selected ${count} times in one selection set`);
    into.keys.set(key, count);
  };
  const check = (shape: Shape) => {
    if (shape.fields > DOCUMENT_LIMITS.maxFields)
      throw tooComplex('maxFields', `The document selects more than ${DOCUMENT_LIMITS.maxFields} fields once its fragments are expanded`);
    if (shape.depth > DOCUMENT_LIMITS.maxDepth) throw tooComplex('maxDepth', `The document is ${shape.depth} levels deep`);
    if (shape.aliases > DOCUMENT_LIMITS.maxAliases)
      throw tooComplex('maxAliases', `The document uses ${shape.aliases} aliases once its fragments are expanded`);
  };
  /** A fragment's selections join the selection set they are spread into, at the same level. */
  const merge = (into: Shape, part: Shape) => {
    into.fields += part.fields;
    into.aliases += part.aliases;
    into.depth = Math.max(into.depth, part.depth);
    for (const [key, times] of part.keys) addKey(into, key, times);
    check(into);
  };
  const fragment = (name: string): Shape => {
    const known = measured.get(name);
    if (known === 'measuring') return empty();
    if (known) return known;
    const definition = fragments.get(name);
    if (!definition) return empty();
    measured.set(name, 'measuring');
    const shape = measure(definition.selectionSet);
    measured.set(name, shape);
    return shape;
  };
  const measure = (selectionSet: SelectionSetNode): Shape => {
    const shape = empty();
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        addKey(shape, selection.alias?.value ?? selection.name.value, 1);
        const below = selection.selectionSet ? measure(selection.selectionSet) : empty();
        merge(shape, { fields: 1 + below.fields, aliases: (selection.alias ? 1 : 0) + below.aliases, depth: 1 + below.depth, keys: new Map() });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) merge(shape, measure(selection.selectionSet));
      else merge(shape, fragment(selection.name.value));
    }
    return shape;
  };

  const total = empty();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const operation = measure(definition.selectionSet);
    merge(total, { ...operation, keys: new Map() });
  }
}

/**
 * The first thing every transport does with a document: parse it within the token limit, then
 * check its shape. Throws GRAPHQL_PARSE_FAILED or QUERY_TOO_COMPLEX; what passes may be validated.
 */
export function parseWithinLimits(source: string): DocumentNode {
  let document: DocumentNode;
  try {
    document = parse(source, PARSE_OPTIONS);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    throw new TollgraphError('GRAPHQL_PARSE_FAILED', error.message);
  }
  checkDocumentShape(document);
  return document;
}
