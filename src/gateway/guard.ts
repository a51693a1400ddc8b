import type { DocumentNode, ExecutionResult, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { accessOf, roleRefusal, unauthenticated, type AccessLevel } from '../auth/access';
import type { Viewer } from '../auth/viewer';
import type { ProductGrant } from '../catalog/product-access';
import { productOf } from '../catalog/product-fields';
import { actualCostByRootField, cappedCost } from '../cost/actual';
import { analyzeOperationOnce, collectFields, fragmentsOf, type CostContext, type QueryComplexity } from '../cost/analyze';
import { costHintOf } from '../cost/hints';
import { httpHeadOf, TollgraphError, withoutHttp } from '../errors';
import { costExtension, rateLimitHeaders } from '../limits/headers';
import type { LimitStatus, Reservation } from '../limits/service';
import type { GatewayContext } from './context';
import { usageParts } from './usage-parts';

/** What carried the operation. */
export type Transport = 'http' | 'websocket';

export interface OperationRequest {
  transport: Transport;
  schema: GraphQLSchema;
  /** Parsed, shape-checked (src/cost/shape.ts) and validated. */
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  context: GatewayContext;
}

/** What the answer to an operation carries about the account's limits. */
export interface Settlement {
  headers: Record<string, string>;
  cost?: ReturnType<typeof costExtension>;
  /** Set when the result must not be sent (its usage could not be recorded): send this error instead. */
  withheld?: TollgraphError;
}

/** Limits no plan lifts (the document's shape limits come first, in src/cost/shape.ts). */
export const MAX_ROOT_FIELDS = 20;
/** Anonymous (public) operations are small by nature. */
const ANONYMOUS_MAX_DEPTH = 6;

const WRONG_TRANSPORT: Record<Transport, string> = {
  http: 'Subscriptions are served over the WebSocket at /graphql (graphql-ws protocol), not over HTTP.',
  websocket: 'Queries and mutations are served over HTTP (POST /graphql, or GET for queries); the WebSocket carries subscriptions only.',
};

function tooComplex(message: string, extensions: Record<string, unknown>): TollgraphError {
  return new TollgraphError('QUERY_TOO_COMPLEX', message, { extensions });
}

interface RootFacts {
  /** The access levels its root fields require. */
  levels: Set<AccessLevel>;
  /** Its root fields, sorted and joined by "," (what the SLA records call the operation). */
  label: string;
  /** The data product of each of its root fields that belongs to one (src/catalog/product-fields.ts). */
  productOfField: Map<string, string>;
  /** Those products, each once. */
  products: string[];
  /** Root fields (each alias counted) that cost no units. */
  freeFields: number;
}

// What an operation's root fields require depends on the document alone (Apollo hands back the
// same parsed document for a repeated query): worked out once per operation.
const factsByOperation = new WeakMap<OperationDefinitionNode, RootFacts>();

function rootFacts({ schema, document, operation }: OperationRequest): RootFacts {
  let facts = factsByOperation.get(operation);
  if (!facts) {
    const root = schema.getRootType(operation.operation);
    const fields = root?.getFields() ?? {};
    const groups = collectFields([operation.selectionSet], { schema, fragments: fragmentsOf(document), variables: {} });
    const names = groups.map(([node]) => node.name.value);
    const productOfField = new Map(names.flatMap((name) => (productOf(fields[name]) ? [[name, productOf(fields[name])!] as const] : [])));
    facts = {
      levels: new Set(names.map((name) => (name.startsWith('__') ? 'public' : accessOf(fields[name])))),
      label: [...new Set(names)].sort().join(','),
      productOfField,
      products: [...new Set(productOfField.values())].sort(),
      freeFields: names.filter((name) => fields[name] && costHintOf(fields[name]).free).length,
    };
    factsByOperation.set(operation, facts);
  }
  return facts;
}

/**
 * The one path every GraphQL operation takes, whatever carried it: the HTTP transport calls
 * `admit` before execution and `settle` after it; the WebSocket calls `admit` when a subscription
 * starts and `meter` on its events. Nothing else decides access, cost, limits or billing.
 */
export class GuardedOperation {
  private complexity?: QueryComplexity;
  private reservation?: Reservation;
  /** admit() let the operation run. */
  private admitted = false;
  private grants: ProductGrant[] = [];
  private events = 0;

  constructor(private readonly request: OperationRequest) {}

  private get costContext(): CostContext {
    const { schema, document, variables } = this.request;
    return { schema, fragments: fragmentsOf(document), variables };
  }

  /**
   * Before execution, in this order; the first refusal throws (a TollgraphError with its status):
   * 1. transport: queries and mutations over HTTP, subscriptions over the WebSocket;
   * 2. caller: public fields need no key, the others a valid key, admin fields an ADMIN key,
   *    publisher fields a PUBLISHER or ADMIN key (a key that is not valid was refused before the
   *    request body was read); the fields of a data product need the product in the caller's
   *    plan or among its account's add-ons;
   * 3. complexity: depth against the plan, root fields, cost against the plan's maximum;
   * 4. limits: the free root fields taken from the account's allowance in this process
   *    (FREE_FIELDS_PER_SECOND); the requested cost reserved from the burst and daily limits. A
   *    subscription reserves nothing here: each event it delivers is charged (`meter`).
   */
  async admit(): Promise<void> {
    const { transport, operation, context } = this.request;
    if ((operation.operation === 'subscription') !== (transport === 'websocket')) throw new TollgraphError('BAD_REQUEST', WRONG_TRANSPORT[transport]);

    const { auth } = context;
    if (auth.refused) throw unauthenticated();
    const { levels, label, products, freeFields } = rootFacts(this.request);
    context.noteOperation?.(label);
    if ([...levels].some((level) => level !== 'public') && !auth.viewer) throw unauthenticated();
    for (const level of levels) {
      const refusal = auth.viewer && roleRefusal(level, auth.viewer.key.role);
      if (refusal) throw refusal;
    }
    if (auth.viewer && products.length) this.grants = await this.admitProducts(auth.viewer);

    const complexity = (this.complexity = analyzeOperationOnce(operation, this.costContext));
    const limits = auth.viewer?.access.limits;
    const maxDepth = limits?.maxDepth ?? ANONYMOUS_MAX_DEPTH;
    if (complexity.depth > maxDepth)
      throw tooComplex(`Query depth ${complexity.depth} exceeds the maximum of ${maxDepth}.`, { depth: complexity.depth, maxDepth });
    if (complexity.rootFields > MAX_ROOT_FIELDS) {
      throw tooComplex(`Query selects ${complexity.rootFields} root fields; the maximum is ${MAX_ROOT_FIELDS}.`, {
        rootFields: complexity.rootFields,
        maxRootFields: MAX_ROOT_FIELDS,
      });
    }
    if (limits) {
      const maxCost = Math.min(limits.maxQueryCost, limits.burstPerSecond);
      if (complexity.cost > maxCost)
        throw tooComplex(`Query cost ${complexity.cost} exceeds the maximum of ${maxCost} for your plan.`, {
          requestedQueryCost: complexity.cost,
          maxQueryCost: maxCost,
        });
    }

    if (auth.viewer && freeFields > 0) await context.services.freeFields.take(auth.viewer.access.account.id, freeFields);
    if (auth.viewer && complexity.cost > 0 && operation.operation !== 'subscription') {
      this.reservation = await context.services.limits.reserve(auth.viewer.access, complexity.cost);
    }
    this.admitted = true;
  }

  /**
   * After execution (or a refusal by `admit`), in this order:
   * 1. the actual cost, from what the result holds (nulls, errors and short lists cost less);
   * 2. the usage ledger: the record is written before the answer goes out; if it cannot be, the
   *    answer is withheld (SERVICE_UNAVAILABLE) and its units are not spent;
   * 3. the refund of whatever was reserved and not spent;
   * 4. where the account stands, for the answer's RateLimit headers and `extensions.cost`
   *    (refused requests of a known caller included; anonymous ones carry none).
   */
  async settle(result: { data?: Record<string, unknown> | null }): Promise<Settlement> {
    const { context, operation } = this.request;
    const viewer = context.auth.viewer;
    if (!viewer) return { headers: {} };
    const { limits } = context.services;
    const requested = this.complexity?.cost ?? 0;
    // One walk of the result: its root fields' costs make the actual cost and split it by product.
    // Billed whether or not units were reserved (none are while Redis is down under fail-open).
    const byField = this.admitted && requested > 0 ? actualCostByRootField(operation, result.data, this.costContext) : [];
    let actual = cappedCost(byField, requested);

    let withheld: TollgraphError | undefined;
    if (actual > 0) {
      try {
        await this.record(context.requestId, actual, byField);
      } catch (error) {
        context.log().error({ err: error }, 'response withheld: its usage could not be recorded');
        withheld = new TollgraphError('SERVICE_UNAVAILABLE', 'The request could not be recorded for billing, so it was not served; retry shortly.', {
          headers: { 'retry-after': '1' },
        });
        actual = 0;
      }
    }

    const status: LimitStatus = this.reservation
      ? await limits.refund(viewer.access, this.reservation, requested - actual)
      : await limits.status(viewer.access);
    return { headers: rateLimitHeaders(status), cost: costExtension(status, requested, actual), withheld };
  }

  /**
   * A live feed's events, each charged before it is handed to the transport: its selection's cost
   * from the daily quota (not the burst: the server sets a feed's pace) and a ledger record, after
   * the caller's credentials are checked again (a revoked key, a disabled account or a plan change
   * applies to an open feed). When a charge is refused the feed ends with that error. Ending the
   * feed stops it at once: an event that arrives after the end is not charged.
   */
  meter(source: AsyncGenerator<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
    let ended = false;
    const end = async (): Promise<IteratorReturnResult<undefined>> => {
      ended = true;
      await source.return(undefined);
      return { done: true, value: undefined };
    };
    const feed: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        if (ended) return { done: true, value: undefined };
        const event = await source.next();
        if (event.done || ended) return { done: true, value: undefined };
        const started = performance.now();
        const refusal = await this.chargeEvent();
        this.countDelivery(refusal, performance.now() - started);
        if (refusal) {
          await end();
          return { done: false, value: { errors: [withoutHttp(refusal)] } };
        }
        return event;
      },
      return: end,
      throw: async (error: unknown) => {
        await end();
        throw error;
      },
      [Symbol.asyncIterator]: () => feed,
    };
    return feed;
  }

  /**
   * A live feed's event counts for its account's service level as a request does (src/sla): under
   * the operation's root field, a server fault when the gateway could not deliver it (a 5xx
   * refusal: its usage could not be recorded), with the time the gateway took to deliver it.
   */
  private countDelivery(refusal: TollgraphError | undefined, ms: number): void {
    const { context } = this.request;
    const accountId = context.auth.viewer?.access.account.id;
    if (accountId) context.services.sla.recorder.record(accountId, rootFacts(this.request).label, refusal ? httpHeadOf(refusal).status : 200, ms);
  }

  private admitProducts(viewer: Viewer): Promise<ProductGrant[]> {
    const { context } = this.request;
    return context.services.productAccess.admit({ role: viewer.key.role, access: viewer.access }, rootFacts(this.request).products);
  }

  private async chargeEvent(): Promise<TollgraphError | undefined> {
    const { context } = this.request;
    const cost = this.complexity?.cost ?? 0;
    if (cost === 0) return undefined;
    const now = context.reauthenticate ? await context.reauthenticate() : context.auth;
    if (!now.viewer) return new TollgraphError('UNAUTHENTICATED', `The API key is no longer valid (${now.refused ?? 'refused'}); the live feed has ended.`);
    const { limits } = context.services;
    let reservation: Reservation | undefined;
    try {
      // An add-on that ended, or a plan that no longer includes the product, ends the feed.
      if (rootFacts(this.request).products.length) this.grants = await this.admitProducts(now.viewer);
      reservation = await limits.reserve(now.viewer.access, cost, { burst: false });
      await this.record(`${context.requestId}:${++this.events}`, cost, undefined, now.viewer);
    } catch (error) {
      if (reservation) await limits.refund(now.viewer.access, reservation, cost);
      if (error instanceof TollgraphError) return error;
      context.log().error({ err: error }, 'live feed stopped: its usage could not be recorded');
      return new TollgraphError('SERVICE_UNAVAILABLE', 'The live feed stopped: its usage could not be recorded; subscribe again shortly.');
    }
    return undefined;
  }

  /**
   * The ledger records of `units`: one per data product the operation's charged fields belong to
   * (almost always one, under the request id; further ones under `<request id>#<product>`).
   * `byField`: an HTTP result's cost by root field; a feed's event has one root field.
   */
  private async record(
    requestId: string,
    units: number,
    byField?: ReadonlyArray<readonly [field: string, cost: number]>,
    viewer = this.request.context.auth.viewer!,
  ): Promise<void> {
    const { key, access } = viewer;
    const { operation, context } = this.request;
    const { productOfField } = rootFacts(this.request);
    const costs = byField ?? [...productOfField.keys()].map((field) => [field, units] as const);
    const split = productOfField.size ? usageParts(units, costs, productOfField, this.grants) : [];
    const parts = split.length ? split : [{ product: null, meter: null, units }];
    const occurredAt = new Date();
    await context.services.ledger.record(
      ...parts.map((part, i) => ({
        requestId: i === 0 ? requestId : `${requestId}#${part.product}`,
        accountId: access.account.id,
        apiKeyId: key.id,
        planCode: access.plan.code,
        operation: operation.name?.value ?? 'anonymous',
        costUnits: part.units,
        occurredAt,
        product: part.product,
        meter: part.meter ?? undefined,
      })),
    );
  }
}
