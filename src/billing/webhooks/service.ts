import { Counter } from 'prom-client';
import type { AccountService } from '../../accounts/service';
import { recordAudit, type Actor } from '../../audit/audit';
import { badInput, TollgraphError } from '../../errors';
import { decodeCursor, encodeCursor } from '../../graphql/cursor';
import type { Prisma, PrismaClient, StripeEvent, StripeEventStatus } from '../../generated/prisma/client';
import type { Logger } from '../../ops/logger';
import type { Metrics } from '../../ops/metrics';
import type { Stripe } from '../stripe-client';
import { WebhookError, type ApplyContext, type StoredEvent, type StripeReads } from './handler';
import { handlerFor } from './handlers';
import { isObject, str, type StripeObject } from './stripe-objects';
import { lockSubscription, storedEventOf, syncAccountPlan, syncSubscription } from './subscription-sync';

export type ReceiveOutcome = 'processed' | 'duplicate' | 'ignored';

/** The event was not applied: answer `status` so Stripe delivers it again. */
export class WebhookNotApplied extends Error {
  constructor(
    readonly status: 500 | 503,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WebhookNotApplied';
  }
}

/** A verified body that is not a Stripe event (no id, type, created or data.object). */
export class MalformedEvent extends Error {}

export interface StripeWebhooksOptions {
  /** BILLING_PAST_DUE_GRACE_DAYS in milliseconds. */
  graceMs: number;
  /** Reads what an event leaves out (an invoice's further lines); absent when billing is off. */
  stripe?: Stripe;
}

/** At most this many lines of one invoice or credit note are read from Stripe (far beyond any of ours). */
const MAX_LINES = 10_000;

const TRANSACTION = { maxWait: 5_000, timeout: 15_000 } as const;
const MAX_ERROR_LENGTH = 2_000;
const DONE: ReadonlySet<string> = new Set<StripeEventStatus>(['PROCESSED', 'IGNORED']);

type Outcome = 'processed' | 'duplicate' | 'ignored' | 'failed' | 'unavailable' | 'rejected';

/** A verified Stripe event, checked for the fields Tollgraph relies on. */
export function parseEvent(body: unknown): { event: StoredEvent; payload: StripeObject } {
  if (!isObject(body)) throw new MalformedEvent('the body is not a JSON object');
  const data = isObject(body.data) ? body.data : undefined;
  const id = str(body.id);
  const type = str(body.type);
  if (!id || !type || typeof body.created !== 'number' || !isObject(data?.object))
    throw new MalformedEvent('not a Stripe event: id, type, created and data.object are required');
  return { event: { id, type, created: new Date(body.created * 1000), livemode: body.livemode === true, object: data.object }, payload: body };
}

/**
 * Stripe webhook events, after Lago: verified by the route, then stored and applied in one
 * database transaction keyed by the event id, one handler per type (handlers/). A redelivery
 * finds its row and changes nothing; an event that cannot be applied is kept as FAILED and
 * answered with a 5xx, so Stripe retries it; an admin can re-apply any stored event.
 */
export class StripeWebhooks {
  private readonly log: Logger;
  private readonly stripeReads: StripeReads | undefined;
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly accounts: Pick<AccountService, 'invalidate' | 'setPlanIn' | 'linkStripeCustomerIn'>,
    logger: Logger,
    metrics: Metrics,
    private readonly options: StripeWebhooksOptions,
  ) {
    this.log = logger.child({ component: 'stripe-webhooks' });
    const stripe = options.stripe;
    this.stripeReads = stripe && {
      invoiceLineItems: async (invoiceId) =>
        (await stripe.invoices.listLineItems(invoiceId, { limit: 100 }).autoPagingToArray({ limit: MAX_LINES })) as unknown as StripeObject[],
      creditNoteLineItems: async (creditNoteId) =>
        (await stripe.creditNotes.listLineItems(creditNoteId, { limit: 100 }).autoPagingToArray({ limit: MAX_LINES })) as unknown as StripeObject[],
    };
    this.outcomes = new Counter({
      name: 'tollgraph_stripe_webhook_events_total',
      help: 'Stripe webhook deliveries by outcome: processed, duplicate, ignored, failed (500), unavailable (503), rejected (4xx)',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
  }

  count(outcome: Outcome): void {
    this.outcomes.inc({ outcome });
  }

  /**
   * Stores and applies a verified event. Resolves once the effect is committed (or was already);
   * throws WebhookNotApplied otherwise: 500 when the event is recorded as FAILED, 503 when the
   * database could not even record that.
   */
  async receive(body: unknown): Promise<ReceiveOutcome> {
    const { event, payload } = parseEvent(body);
    try {
      const outcome = await this.run(event, { payload });
      this.count(outcome);
      if (outcome === 'duplicate') this.log.info({ eventId: event.id, type: event.type }, 'Stripe event already applied: redelivery changes nothing');
      return outcome;
    } catch (error) {
      const recorded = await this.recordFailure(event, payload, error).then(
        () => true,
        (recordError: unknown) => {
          this.log.error({ err: recordError, eventId: event.id }, 'could not record the failed Stripe event either (database down?)');
          return false;
        },
      );
      this.count(recorded ? 'failed' : 'unavailable');
      this.log.error({ err: error, eventId: event.id, type: event.type }, 'Stripe event not applied; Stripe will deliver it again');
      throw new WebhookNotApplied(
        recorded ? 500 : 503,
        recorded ? `event ${event.id} could not be applied: ${messageOf(error)}` : 'the database is unavailable; deliver the event again later',
        { cause: error },
      );
    }
  }

  /** Applies a stored event again (after fixing what made it fail), on behalf of an admin. */
  async reapply(id: string, actor: Actor): Promise<StripeEvent> {
    const row = await this.prisma.stripeEvent.findUnique({ where: { id } });
    if (!row) throw badInput(`no Stripe event with id ${id}`, { fields: ['id'] });
    const event = storedEventOf(row);
    try {
      const outcome = await this.run(event, { reapplyBy: actor });
      this.log.info({ eventId: id, type: row.type, outcome, actor }, 'stored Stripe event re-applied');
    } catch (error) {
      this.log.warn({ err: error, eventId: id, type: row.type }, 'stored Stripe event could not be re-applied');
      await this.recordFailure(event, undefined, error).catch((recordError: unknown) => {
        this.log.error({ err: recordError, eventId: id }, 'could not record the failure');
        throw new TollgraphError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly.');
      });
    }
    return this.prisma.stripeEvent.findUniqueOrThrow({ where: { id } });
  }

  /** Stored events, newest first, optionally of one status and type. */
  async list({
    status,
    type,
    first,
    after,
  }: {
    status?: StripeEventStatus;
    type?: string;
    first: number;
    after?: string;
  }): Promise<{ events: StripeEvent[]; hasNextPage: boolean }> {
    const cursor = after === undefined ? undefined : decodeEventCursor(after);
    const rows = await this.prisma.stripeEvent.findMany({
      where: {
        ...(status ? { status } : {}),
        ...(type ? { type } : {}),
        ...(cursor ? { OR: [{ receivedAt: { lt: cursor.receivedAt } }, { receivedAt: cursor.receivedAt, id: { lt: cursor.id } }] } : {}),
      },
      orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
      take: first + 1,
    });
    return { events: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /**
   * Moves accounts whose past_due subscription's grace period is over to the plan they are now
   * entitled to (FREE, unless another subscription says otherwise). Events already decide this
   * when they arrive; this catches the grace period running out between events.
   */
  async checkGracePeriods(now = new Date()): Promise<string[]> {
    const cutoff = new Date(now.getTime() - this.options.graceMs);
    const due = await this.prisma.subscription.findMany({
      where: { status: 'past_due', pastDueSince: { lte: cutoff }, account: { planCode: { not: 'FREE' } } },
      select: { accountId: true },
      distinct: ['accountId'],
      take: 1_000,
    });
    const changed: string[] = [];
    for (const { accountId } of due) {
      const touchedAccounts = new Set<string>();
      await this.prisma.$transaction(
        (tx) => syncAccountPlan({ tx, now, graceMs: this.options.graceMs, accounts: this.accounts, touchedAccounts, cause: 'grace-period' }, accountId),
        TRANSACTION,
      );
      await this.invalidate(touchedAccounts);
      changed.push(...touchedAccounts);
    }
    if (changed.length) this.log.info({ accounts: changed }, 'grace period over: accounts moved to the plan their subscriptions allow');
    return changed;
  }

  /** Runs checkGracePeriods every `intervalMs`, one pass at a time; returns the function that stops it. */
  startGraceChecks(intervalMs: number): () => Promise<void> {
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      running ??= this.checkGracePeriods()
        .catch((error) => this.log.warn({ err: error }, 'grace-period check failed; will retry'))
        .finally(() => (running = undefined));
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  /**
   * One transaction: the event's row (unique by id) and its whole effect, or neither. What the
   * handler reads from Stripe is read first, outside it.
   */
  private async run(received: StoredEvent, mode: { payload: StripeObject } | { reapplyBy: Actor }): Promise<'processed' | 'duplicate' | 'ignored'> {
    const now = new Date();
    const touchedAccounts = new Set<string>();
    const handler = handlerFor(received.type);
    // A redelivery of an applied event costs one indexed read, never a call to Stripe.
    if (handler?.complete && 'payload' in mode && (await this.applied(received.id))) return 'duplicate';
    const event = (await handler?.complete?.(received, this.stripeReads)) ?? received;
    const subscriptionId = handler?.subscriptionOf(event.object) ?? null;
    const outcome = await this.prisma.$transaction(async (tx) => {
      // Lock order, in every transaction that takes several: the subscription, then event rows,
      // then accounts. (A fold may settle other event rows of its subscription.)
      if (subscriptionId) await lockSubscription(tx, subscriptionId);
      if ('payload' in mode) {
        const { count } = await tx.stripeEvent.createMany({ data: [rowOf(event, mode.payload, subscriptionId)], skipDuplicates: true });
        if (count === 0) {
          // Seen before: wait for any delivery of it still in flight, then look.
          const [existing] = await tx.$queryRaw<Array<{ status: string }>>`SELECT status::text AS status FROM stripe_events WHERE id = ${event.id} FOR UPDATE`;
          if (existing && DONE.has(existing.status)) return 'duplicate' as const;
        }
      } else {
        const [existing] = await tx.$queryRaw<Array<{ status: string }>>`SELECT status::text AS status FROM stripe_events WHERE id = ${event.id} FOR UPDATE`;
        if (!existing) throw badInput(`no Stripe event with id ${event.id}`, { fields: ['id'] });
        await tx.stripeEvent.update({ where: { id: event.id }, data: { stripeSubscriptionId: subscriptionId } });
        await recordAudit(tx, mode.reapplyBy, {
          action: 'stripeEvent.reapply',
          targetType: 'StripeEvent',
          targetId: event.id,
          before: { status: existing.status },
        });
      }
      const result = await this.dispatch({
        tx,
        event,
        now,
        graceMs: this.options.graceMs,
        log: this.log,
        accounts: this.accounts,
        touchedAccounts,
      });
      await tx.stripeEvent.update({
        where: { id: event.id },
        data: { status: result === 'ignored' ? 'IGNORED' : 'PROCESSED', error: null, processedAt: now, attempts: { increment: 1 } },
      });
      return result;
    }, TRANSACTION);
    await this.invalidate(touchedAccounts);
    if (outcome !== 'duplicate')
      this.log.info(
        { eventId: event.id, type: event.type, subscription: subscriptionId ?? undefined, outcome, accounts: [...touchedAccounts] },
        'Stripe event applied',
      );
    return outcome;
  }

  private async applied(eventId: string): Promise<boolean> {
    const row = await this.prisma.stripeEvent.findUnique({ where: { id: eventId }, select: { status: true } });
    return row !== null && DONE.has(row.status);
  }

  private async dispatch(context: ApplyContext): Promise<'processed' | 'ignored'> {
    const { event, log } = context;
    const handler = handlerFor(event.type);
    if (!handler) {
      log.info({ eventId: event.id, type: event.type }, 'Stripe event type not handled: stored as IGNORED');
      return 'ignored';
    }
    // run() holds the subscription's lock already.
    const subscriptionId = handler.subscriptionOf(event.object);
    if ((await handler.apply?.(context)) === 'ignored') return 'ignored';
    if (subscriptionId && handler.signal) {
      await syncSubscription(context, subscriptionId);
      return 'processed';
    }
    if (handler.apply) return 'processed';
    log.info({ eventId: event.id, type: event.type }, 'Stripe event concerns no subscription: stored as IGNORED');
    return 'ignored';
  }

  /** Keeps the event and why it failed, so admins see it and a redelivery or re-apply retries it. */
  private async recordFailure(event: StoredEvent, payload: StripeObject | undefined, error: unknown): Promise<void> {
    const message = messageOf(error).slice(0, MAX_ERROR_LENGTH);
    const subscriptionId = handlerFor(event.type)?.subscriptionOf(event.object) ?? null;
    if (payload) {
      const { count } = await this.prisma.stripeEvent.createMany({
        data: [{ ...rowOf(event, payload, subscriptionId), status: 'FAILED', error: message, attempts: 1 }],
        skipDuplicates: true,
      });
      if (count > 0) return;
    }
    await this.prisma.stripeEvent.updateMany({
      where: { id: event.id, status: { in: ['RECEIVED', 'FAILED', ...(payload ? [] : (['PROCESSED', 'IGNORED'] as const))] } },
      data: { status: 'FAILED', error: message, attempts: { increment: 1 } },
    });
  }

  private async invalidate(accountIds: Set<string>): Promise<void> {
    await Promise.all(
      [...accountIds].map((id) =>
        // The change is committed; should the broadcast fail, the caches' TTL still bounds staleness.
        this.accounts.invalidate(id).catch((error) => this.log.warn({ err: error, accountId: id }, 'could not broadcast an account change')),
      ),
    );
  }
}

function rowOf(event: StoredEvent, payload: StripeObject, stripeSubscriptionId: string | null) {
  return {
    id: event.id,
    type: event.type,
    objectId: str(event.object.id) ?? null,
    stripeSubscriptionId,
    livemode: event.livemode,
    payload: payload as Prisma.InputJsonValue,
    stripeCreatedAt: event.created,
  };
}

function messageOf(error: unknown): string {
  if (error instanceof WebhookError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A stored event's place in the newest-first listing. */
export const eventCursor = (event: Pick<StripeEvent, 'receivedAt' | 'id'>) => encodeCursor([event.receivedAt.getTime(), event.id]);

function decodeEventCursor(after: string): { receivedAt: Date; id: string } {
  const [at, id] = decodeCursor(after, ['number', 'string']);
  return { receivedAt: new Date(at), id };
}
