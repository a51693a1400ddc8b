import { getOperationAST, GraphQLError, subscribe, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { analyzeOperationOnce, fragmentsOf } from '../cost/analyze';
import { TollgraphError } from '../errors';
import type { Services } from '../services';
import type { GatewayContext } from './context';

type SubscribeResult = ReturnType<typeof subscribe>;

/** An error for a live feed: a WebSocket message has no HTTP status or headers to carry. */
function feedError(error: unknown): ExecutionResult {
  if (error instanceof TollgraphError) {
    const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
    return { errors: [new GraphQLError(error.message, { extensions })] };
  }
  return { errors: [new GraphQLError('The live feed stopped: its usage could not be recorded; subscribe again shortly.', { extensions: { code: 'SERVICE_UNAVAILABLE' } })] };
}

/**
 * Subscriptions are billed like queries: every event delivered costs what the subscription's
 * selection costs (the same cost analysis), drawn from the daily quota (not the burst: the
 * server sets a feed's pace) and written to the usage ledger before it is sent, under an id
 * made of the subscription's request id and the event's sequence number. When the quota is
 * spent the feed ends with QUOTA_EXCEEDED; if the ledger cannot take the record it ends with
 * SERVICE_UNAVAILABLE and the units go back; when the key is revoked or expires, or the account
 * is disabled, with UNAUTHENTICATED. Nothing is delivered unbilled.
 */
export function meteredSubscribe(services: Services) {
  return async (args: ExecutionArgs): Promise<Awaited<SubscribeResult>> => {
    const source = await subscribe(args);
    const context = args.contextValue as GatewayContext;
    const viewer = context.auth.viewer;
    const operation = getOperationAST(args.document, args.operationName);
    if (!(Symbol.asyncIterator in source) || !viewer || !operation) return source;
    const { cost } = analyzeOperationOnce(operation, { schema: args.schema, fragments: fragmentsOf(args.document), variables: (args.variableValues ?? {}) as Record<string, unknown> });
    if (cost === 0) return source;

    let sequence = 0;
    const charge = async (): Promise<ExecutionResult | undefined> => {
      // The credentials are checked again per event (in-process caches, invalidated on every
      // process): a revoked or expired key, a disabled account or a plan change applies at once.
      const now = context.reauthenticate ? await context.reauthenticate() : context.auth;
      if (!now.viewer) return feedError(new TollgraphError('UNAUTHENTICATED', `The API key is no longer valid (${now.refused ?? 'refused'}); the live feed has ended.`));
      const access = now.viewer.access;
      let reservation;
      try {
        reservation = await services.limits.reserve(access, cost, { burst: false });
      } catch (error) {
        return feedError(error);
      }
      try {
        await services.ledger.record({
          requestId: `${context.requestId}:${++sequence}`,
          accountId: access.account.id,
          apiKeyId: viewer.key.id,
          planCode: access.plan.code,
          operation: operation.name?.value ?? 'subscription',
          costUnits: cost,
          occurredAt: new Date(),
        });
      } catch (error) {
        context.log().error({ err: error }, 'live feed stopped: its usage could not be recorded');
        if (reservation) await services.limits.refund(access, reservation, cost);
        return feedError(error);
      }
      return undefined;
    };

    async function* metered(): AsyncGenerator<ExecutionResult> {
      const events = source as AsyncGenerator<ExecutionResult>;
      try {
        for await (const event of events) {
          const refusal = await charge();
          if (refusal) {
            yield refusal;
            return;
          }
          yield event;
        }
      } finally {
        await events.return?.(undefined);
      }
    }
    return metered();
  };
}
