import { getNamedType, isCompositeType, type FieldNode, type GraphQLCompositeType, type OperationDefinitionNode } from 'graphql';
import { collectFields, fieldOf, type CostContext } from './analyze';
import { costHintOf } from './hints';

function resultCost(parent: GraphQLCompositeType, node: FieldNode, value: unknown, context: CostContext): number {
  const field = fieldOf(parent, node);
  if (!field || value === null || value === undefined) return 0;
  const hint = costHintOf(field);
  if (hint.free) return 0;
  const type = getNamedType(field.type);
  if (!isCompositeType(type)) return hint.weight ?? 0;
  const objectCost = (object: unknown): number => {
    if (object === null || typeof object !== 'object') return 0;
    const children = node.selectionSet ? collectFields(node.selectionSet, context, type) : [];
    return (hint.weight ?? 1) + children.reduce((sum, child) => sum + resultCost(type, child, (object as Record<string, unknown>)[child.alias?.value ?? child.name.value], context), 0);
  };
  return Array.isArray(value) ? value.reduce((sum: number, item) => sum + objectCost(item), 0) : objectCost(value);
}

/**
 * What the query really cost, from what it returned: nulls and errors cost nothing, lists cost
 * what they hold (Shopify's actualQueryCost). Never more than requested, so refunds are safe.
 */
export function actualCost(operation: OperationDefinitionNode, data: Record<string, unknown> | null | undefined, context: CostContext, requested: number): number {
  const root = context.schema.getRootType(operation.operation);
  if (!root || !data) return 0;
  const cost = collectFields(operation.selectionSet, context, root).reduce((sum, node) => sum + resultCost(root, node, data[node.alias?.value ?? node.name.value], context), 0);
  return Math.min(cost, requested);
}
