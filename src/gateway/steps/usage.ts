import { ErrorCode } from '../../errors';
import type { RequestStep } from '../pipeline';

/**
 * Record, then answer: every response that used cost units is written to the usage ledger
 * (group-committed) before it is sent. If the ledger cannot take it, the client gets
 * SERVICE_UNAVAILABLE instead of an unbilled answer, and the units go back to its quota.
 */
export const usageStep: RequestStep = {
  name: 'usage',
  async settle({ contextValue: { auth, cost, services, requestId, log }, operationName, response }) {
    const units = cost.actual ?? 0;
    if (!auth.viewer || units === 0 || response.body.kind !== 'single') return;
    const { key, access } = auth.viewer;
    try {
      await services.ledger.record({
        requestId,
        accountId: access.account.id,
        apiKeyId: key.id,
        planCode: access.plan.code,
        operation: operationName ?? 'anonymous',
        costUnits: units,
        occurredAt: new Date(),
      });
    } catch (error) {
      log().error({ err: error }, 'response withheld: its usage could not be recorded');
      if (cost.reservation) await services.limits.refund(access, cost.reservation, units);
      response.body.singleResult = {
        errors: [{ message: 'The request could not be recorded for billing, so it was not served; retry shortly.', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
      };
      response.http.status = ErrorCode.SERVICE_UNAVAILABLE;
      response.http.headers.set('retry-after', '1');
    }
  },
};
