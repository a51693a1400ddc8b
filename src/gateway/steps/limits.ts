import { actualCost } from '../../cost/actual';
import { fragmentsOf } from '../../cost/analyze';
import { costExtension, rateLimitHeaders } from '../../limits/headers';
import type { RequestStep } from '../pipeline';

/**
 * Reserve the requested cost from the account's burst and daily limits before execution;
 * afterwards refund what the response did not use, and tell the client where it stands
 * (`extensions.cost`, RateLimit headers) on every authenticated response, refusals included.
 */
export const limitsStep: RequestStep = {
  name: 'limits',
  async decide({ contextValue: { auth, cost, services } }) {
    const requested = cost.complexity?.cost ?? 0;
    if (!auth.viewer || requested === 0) return;
    cost.reservation = await services.limits.reserve(auth.viewer.access, requested);
  },
  async settle({ contextValue: { auth, cost, services }, operation, schema, document, request, response }) {
    if (!auth.viewer || response.body.kind !== 'single') return;
    const result = response.body.singleResult;
    const requested = cost.complexity?.cost ?? 0;
    const actual = cost.reservation ? actualCost(operation, result.data, { schema, fragments: fragmentsOf(document), variables: request.variables ?? {} }, requested) : 0;
    cost.actual = actual;
    const status = cost.reservation
      ? await services.limits.refund(auth.viewer.access, cost.reservation, requested - actual)
      : await services.limits.status(auth.viewer.access);
    for (const [name, value] of Object.entries(rateLimitHeaders(status))) response.http.headers.set(name, value);
    result.extensions = { ...result.extensions, cost: costExtension(status, requested, actual) };
  },
};
