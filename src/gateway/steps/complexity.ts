import { analyzeOperationOnce, fragmentsOf } from '../../cost/analyze';
import { TollgraphError } from '../../errors';
import type { RequestStep } from '../pipeline';

/** Limits no plan lifts: they bound the work of analysing and executing one document. */
export const MAX_ALIASES = 30;
export const MAX_ROOT_FIELDS = 20;
/** Anonymous (public) operations are small by nature. */
const ANONYMOUS_MAX_DEPTH = 6;

function tooComplex(message: string, extensions: Record<string, unknown>): TollgraphError {
  return new TollgraphError('QUERY_TOO_COMPLEX', message, { extensions });
}

/**
 * What the operation costs and whether the plan allows that much, decided from the document
 * alone (GitHub's and Shopify's model). A query that costs more than one second of burst can
 * never pass, so the effective maximum is the smaller of the two.
 */
export const complexityStep: RequestStep = {
  name: 'complexity',
  async decide({ operation, schema, document, request, contextValue }) {
    const complexity = analyzeOperationOnce(operation, { schema, fragments: fragmentsOf(document), variables: request.variables ?? {} });
    contextValue.cost.complexity = complexity;
    const limits = contextValue.auth.viewer?.access.limits;
    const maxDepth = limits?.maxDepth ?? ANONYMOUS_MAX_DEPTH;
    if (complexity.depth > maxDepth) throw tooComplex(`Query depth ${complexity.depth} exceeds the maximum of ${maxDepth}.`, { depth: complexity.depth, maxDepth });
    if (complexity.aliases > MAX_ALIASES) throw tooComplex(`Query uses ${complexity.aliases} aliases; the maximum is ${MAX_ALIASES}.`, { aliases: complexity.aliases, maxAliases: MAX_ALIASES });
    if (complexity.rootFields > MAX_ROOT_FIELDS) {
      throw tooComplex(`Query selects ${complexity.rootFields} root fields; the maximum is ${MAX_ROOT_FIELDS}.`, { rootFields: complexity.rootFields, maxRootFields: MAX_ROOT_FIELDS });
    }
    if (!limits) return;
    const maxCost = Math.min(limits.maxQueryCost, limits.burstPerSecond);
    if (complexity.cost > maxCost) {
      throw tooComplex(`Query cost ${complexity.cost} exceeds the maximum of ${maxCost} for your plan.`, { requestedQueryCost: complexity.cost, maxQueryCost: maxCost });
    }
  },
};
