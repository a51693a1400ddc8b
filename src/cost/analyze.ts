import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { costHintOf } from './hints';

/** What a query would cost and how complex it is, known before any resolver runs. */
export interface QueryComplexity {
  cost: number;
  /** Depth of the data fields (introspection is bounded by the document's shape limits instead). */
  depth: number;
  aliases: number;
  rootFields: number;
}

export interface CostContext {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

/** The fields one response key stands for: GraphQL executes them once, with their selections merged. */
export type FieldGroup = readonly FieldNode[];

/**
 * The fields of selection sets as execution sees them (graphql-js `collectFields`): grouped by
 * response key (alias or name), inline fragments flattened, each named fragment spread once. So a
 * field named twice, or a fragment spread twice, costs what it executes: once.
 */
export function collectFields(selectionSets: readonly SelectionSetNode[], context: CostContext): FieldGroup[] {
  const groups = new Map<string, FieldNode[]>();
  const spread = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const group = groups.get(key);
        if (group) group.push(selection);
        else groups.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        const fragment = context.fragments[selection.name.value];
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  selectionSets.forEach(visit);
  return [...groups.values()];
}

/** The selections under a group of merged fields. */
export function subselectionsOf(group: FieldGroup): SelectionSetNode[] {
  return group.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
}

function literalValue(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value];
    case Kind.INT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map((value) => literalValue(value, variables));
    default:
      return undefined;
  }
}

/** The size a field's result will have, from its slicing arguments (a count, or a list's length). */
export function sliceSize(field: GraphQLField<unknown, unknown>, node: FieldNode, variables: Record<string, unknown>): number | undefined {
  const hint = costHintOf(field);
  if (!hint.slicingArguments) return undefined;
  let size: number | undefined;
  for (const name of hint.slicingArguments) {
    const argument = node.arguments?.find((candidate) => candidate.name.value === name);
    // An argument left out, or given as a variable with no value, takes the field's default (as execution does).
    const value = (argument ? literalValue(argument.value, variables) : undefined) ?? field.args.find((arg) => arg.name === name)?.defaultValue;
    const n = Array.isArray(value) ? value.length : typeof value === 'number' ? value : undefined;
    if (n !== undefined) size = Math.max(size ?? 0, n);
  }
  return size;
}

/** The schema field a node selects, introspection's meta fields included; undefined for an unknown field. */
export function fieldOf(schema: GraphQLSchema, parent: GraphQLCompositeType, node: FieldNode): GraphQLField<unknown, unknown> | undefined {
  const name = node.name.value;
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return 'getFields' in parent ? parent.getFields()[name] : undefined;
}

/** Introspection costs no units (it is bounded by the document's shape limits instead). */
export const isIntrospection = (node: FieldNode) => node.name.value.startsWith('__');

interface Stats {
  depth: number;
  aliases: number;
}

function groupCost(
  parent: GraphQLCompositeType,
  group: FieldGroup,
  context: CostContext,
  inherited: number | undefined,
  depth: number,
  stats: Stats,
  inIntrospection = false,
): number {
  const node = group[0];
  const introspection = inIntrospection || isIntrospection(node);
  if (node.alias) stats.aliases++;
  if (!introspection) stats.depth = Math.max(stats.depth, depth);
  const field = fieldOf(context.schema, parent, node);
  if (!field) return 0;
  const hint = costHintOf(field);
  const type = getNamedType(field.type);
  const size = sliceSize(field, node, context.variables) ?? inherited ?? 1;
  const children = (sized: number | undefined) =>
    isCompositeType(type)
      ? collectFields(subselectionsOf(group), context).reduce(
          (sum, child) =>
            sum + groupCost(type, child, context, hint.sizedFields?.includes(child[0].name.value) ? sized : undefined, depth + 1, stats, introspection),
          0,
        )
      : 0;
  if (hint.free || introspection) {
    children(undefined); // still counted for aliases (and depth, outside introspection)
    return 0;
  }
  const weight = hint.weight ?? (isCompositeType(type) ? 1 : 0);
  if (hint.sizedFields) return weight + children(size);
  if (isListType(getNullableType(field.type))) return size * (weight + children(undefined));
  return weight + children(undefined);
}

/** Requested cost, depth, aliases and root fields of an operation. */
export function analyzeOperation(operation: OperationDefinitionNode, context: CostContext): QueryComplexity {
  const root = context.schema.getRootType(operation.operation);
  if (!root) return { cost: 0, depth: 0, aliases: 0, rootFields: 0 };
  const stats = { depth: 0, aliases: 0 };
  const withDefaults = { ...context, variables: withDeclaredDefaults(operation, context.variables) };
  const groups = collectFields([operation.selectionSet], withDefaults);
  const cost = groups.reduce((sum, group) => sum + groupCost(root, group, withDefaults, undefined, 1, stats), 0);
  return { cost, depth: stats.depth, aliases: stats.aliases, rootFields: groups.length };
}

/** The request's variables, plus the defaults the operation declares for those it left out. */
function withDeclaredDefaults(operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const defaults = operation.variableDefinitions?.filter((definition) => definition.defaultValue && !(definition.variable.name.value in variables));
  if (!defaults?.length) return variables;
  return { ...Object.fromEntries(defaults.map((definition) => [definition.variable.name.value, valueFromASTUntyped(definition.defaultValue!)])), ...variables };
}

// Apollo keeps parsed documents in its document store, so a repeated query brings the same
// operation node: what depends on the document alone is worked out once per document.
const analysed = new WeakMap<OperationDefinitionNode, QueryComplexity>();
const fragmentIndexes = new WeakMap<DocumentNode, Record<string, FragmentDefinitionNode>>();

/**
 * analyzeOperation, remembered per operation when its cost did not depend on the variables (no
 * slicing argument was given as a variable); otherwise analysed for each request's values.
 */
export function analyzeOperationOnce(operation: OperationDefinitionNode, context: CostContext): QueryComplexity {
  const known = analysed.get(operation);
  if (known) return known;
  let readVariables = false;
  const read = <T>(answer: T): T => {
    readVariables = true;
    return answer;
  };
  const variables = new Proxy(context.variables, {
    get: (target, name) => read(Reflect.get(target, name)),
    has: (target, name) => read(Reflect.has(target, name)),
    ownKeys: (target) => read(Reflect.ownKeys(target)),
  });
  const complexity = analyzeOperation(operation, { ...context, variables });
  if (!readVariables) analysed.set(operation, complexity);
  return complexity;
}

export function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  let fragments = fragmentIndexes.get(document);
  if (!fragments) {
    fragments = Object.fromEntries(
      document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    fragmentIndexes.set(document, fragments);
  }
  return fragments;
}
