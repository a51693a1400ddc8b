import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  Kind,
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
  depth: number;
  aliases: number;
  rootFields: number;
}

export interface CostContext {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

/** Fields of a selection set, with fragments on the type flattened in. */
export function collectFields(selectionSet: SelectionSetNode, context: CostContext, type: GraphQLCompositeType, into: FieldNode[] = []): FieldNode[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) into.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) collectFields(selection.selectionSet, context, type, into);
    else {
      const fragment = context.fragments[selection.name.value];
      if (fragment) collectFields(fragment.selectionSet, context, type, into);
    }
  }
  return into;
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value];
    case Kind.INT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map((value) => valueOf(value, variables));
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
    const value = (argument ? valueOf(argument.value, variables) : undefined) ?? field.args.find((arg) => arg.name === name)?.defaultValue;
    const n = Array.isArray(value) ? value.length : typeof value === 'number' ? value : undefined;
    if (n !== undefined) size = Math.max(size ?? 0, n);
  }
  return size;
}

/** The schema field a node selects; undefined for introspection and union members. */
export function fieldOf(parent: GraphQLCompositeType, node: FieldNode): GraphQLField<unknown, unknown> | undefined {
  if (node.name.value.startsWith('__') || !('getFields' in parent)) return undefined;
  return parent.getFields()[node.name.value];
}

function fieldCost(parent: GraphQLCompositeType, node: FieldNode, context: CostContext, inherited: number | undefined, depth: number, stats: { depth: number; aliases: number }): number {
  if (node.alias) stats.aliases++;
  stats.depth = Math.max(stats.depth, depth);
  const field = fieldOf(parent, node);
  if (!field) return 0;
  const hint = costHintOf(field);
  const type = getNamedType(field.type);
  const size = sliceSize(field, node, context.variables) ?? inherited ?? 1;
  const children = (sized: number | undefined) =>
    node.selectionSet && isCompositeType(type)
      ? collectFields(node.selectionSet, context, type).reduce(
          (sum, child) => sum + fieldCost(type, child, context, hint.sizedFields?.includes(child.name.value) ? sized : undefined, depth + 1, stats),
          0,
        )
      : 0;
  if (hint.free) {
    children(undefined); // still counted for depth and aliases
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
  const fields = collectFields(operation.selectionSet, withDefaults, root);
  const cost = fields.reduce((sum, node) => sum + fieldCost(root, node, withDefaults, undefined, 1, stats), 0);
  return { cost, depth: stats.depth, aliases: stats.aliases, rootFields: fields.length };
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
    fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
    fragmentIndexes.set(document, fragments);
  }
  return fragments;
}
