import { getNamedType, isCompositeType, type GraphQLCompositeType, type OperationDefinitionNode } from 'graphql';
import { collectFields, fieldOf, isIntrospection, subselectionsOf, type CostContext, type FieldGroup } from './analyze';
import { costHintOf } from './hints';

function resultCost(parent: GraphQLCompositeType, group: FieldGroup, value: unknown, context: CostContext): number {
  const node = group[0];
  const field = fieldOf(context.schema, parent, node);
  if (!field || isIntrospection(node) || value === null || value === undefined) return 0;
  const hint = costHintOf(field);
  if (hint.free) return 0;
  const type = getNamedType(field.type);
  if (!isCompositeType(type)) return hint.weight ?? 0;
  const children = collectFields(subselectionsOf(group), context);
  const objectCost = (object: unknown): number => {
    if (object === null || typeof object !== 'object') return 0;
    return (
      (hint.weight ?? 1) +
      children.reduce(
        (sum, child) => sum + resultCost(type, child, (object as Record<string, unknown>)[child[0].alias?.value ?? child[0].name.value], context),
        0,
      )
    );
  };
  return Array.isArray(value) ? value.reduce((sum: number, item) => sum + objectCost(item), 0) : objectCost(value);
}

/** What each root field (by name) of the result cost; a field selected under several aliases counts each. */
export function actualCostByRootField(
  operation: OperationDefinitionNode,
  data: Record<string, unknown> | null | undefined,
  context: CostContext,
): Array<[field: string, cost: number]> {
  const root = context.schema.getRootType(operation.operation);
  if (!root || !data) return [];
  return collectFields([operation.selectionSet], context).map((group) => [
    group[0].name.value,
    resultCost(root, group, data[group[0].alias?.value ?? group[0].name.value], context),
  ]);
}

/**
 * What the query really cost, from what it returned: nulls and errors cost nothing, lists cost
 * what they hold (Shopify's actualQueryCost). Never more than requested, so refunds are safe.
 */
export function actualCost(
  operation: OperationDefinitionNode,
  data: Record<string, unknown> | null | undefined,
  context: CostContext,
  requested: number,
): number {
  return cappedCost(actualCostByRootField(operation, data, context), requested);
}

/** The actual cost from the root fields' costs: their sum, never more than requested. */
export function cappedCost(byField: ReadonlyArray<readonly [field: string, cost: number]>, requested: number): number {
  let cost = 0;
  for (const [, fieldCost] of byField) cost += fieldCost;
  return Math.min(cost, requested);
}
