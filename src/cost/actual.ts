import { getNamedType, isCompositeType, type GraphQLCompositeType, type OperationDefinitionNode } from 'graphql';
import { collectFields, fieldOf, isIntrospection, subselectionsOf, type CostContext, type FieldGroup } from './analyze';
import { costHintOf } from './hints';

/**
 * How one response key of a selection costs, worked out from the document and the schema alone,
 * so a result is priced by a walk of its values (no field look-ups, no merging of selections).
 */
interface CostPlan {
  /** The key the field's value has in its parent object (its alias, else its name). */
  key: string;
  /** The field's name (the root fields' costs are reported by name). */
  name: string;
  /** Each object's own cost (a scalar's weight); undefined: the field and everything under it cost nothing. */
  weight?: number;
  /** For an object (or a list of them): its selections. */
  children?: CostPlan[];
}

function planOf(parent: GraphQLCompositeType, group: FieldGroup, context: CostContext): CostPlan {
  const node = group[0];
  const plan: CostPlan = { key: node.alias?.value ?? node.name.value, name: node.name.value };
  const field = fieldOf(context.schema, parent, node);
  if (!field || isIntrospection(node)) return plan;
  const hint = costHintOf(field);
  if (hint.free) return plan;
  const type = getNamedType(field.type);
  if (!isCompositeType(type)) {
    plan.weight = hint.weight ?? 0;
    return plan;
  }
  plan.weight = hint.weight ?? 1;
  plan.children = collectFields(subselectionsOf(group), context).map((child) => planOf(type, child, context));
  return plan;
}

function valueCost(plan: CostPlan, value: unknown): number {
  if (plan.weight === undefined || value === null || value === undefined) return 0;
  if (!plan.children) return plan.weight;
  if (!Array.isArray(value)) return objectCost(plan, value);
  let sum = 0;
  for (const item of value) sum += objectCost(plan, item);
  return sum;
}

function objectCost(plan: CostPlan, object: unknown): number {
  if (object === null || typeof object !== 'object') return 0;
  let sum = plan.weight!;
  for (const child of plan.children!) sum += valueCost(child, (object as Record<string, unknown>)[child.key]);
  return sum;
}

// The root fields' plans per operation, as analyze.ts remembers its analysis: Apollo hands back the
// same parsed document for a repeated query.
const plansByOperation = new WeakMap<OperationDefinitionNode, CostPlan[]>();

function rootPlans(operation: OperationDefinitionNode, context: CostContext): CostPlan[] {
  let plans = plansByOperation.get(operation);
  if (!plans) {
    const root = context.schema.getRootType(operation.operation);
    plans = root ? collectFields([operation.selectionSet], context).map((group) => planOf(root, group, context)) : [];
    plansByOperation.set(operation, plans);
  }
  return plans;
}

/** What each root field (by name) of the result cost; a field selected under several aliases counts each. */
export function actualCostByRootField(
  operation: OperationDefinitionNode,
  data: Record<string, unknown> | null | undefined,
  context: CostContext,
): Array<[field: string, cost: number]> {
  if (!data) return [];
  return rootPlans(operation, context).map((plan) => [plan.name, valueCost(plan, data[plan.key])]);
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
