import type { ApplyContext, StoredEvent, StripeReads, WebhookHandler } from '../handler';
import { WebhookError } from '../handler';
import { lockStripeObject } from '../locks';
import { carriedLines, creditNoteLineFields, idOf, withAllLines, type CreditNoteLineFields } from '../stripe-objects';

export interface CreditNote {
  id: string;
  lines: CreditNoteLineFields[];
}

/** The credit note with all of its lines (those its event leaves out read from Stripe, before the transaction). */
async function completeCreditNote(event: StoredEvent, stripe: StripeReads | undefined): Promise<StoredEvent> {
  const note = event.object;
  const id = idOf(note.id);
  if (!id || carriedLines(note).complete) return event;
  if (!stripe) throw new WebhookError(`credit note ${id} has more lines than its event carries, and without STRIPE_SECRET_KEY they cannot be read`);
  return { ...event, object: withAllLines(note, await stripe.creditNoteLineItems(id)) };
}

/**
 * The handler of a credit note event: the note completed from Stripe first, then `act` on it in
 * the event's transaction, under the note's lock (its created and voided events are applied one
 * at a time, whatever order they come in).
 */
export function creditNoteHandler(type: string, rank: number, act: (context: ApplyContext, note: CreditNote) => Promise<void>): WebhookHandler {
  return {
    type,
    rank,
    subscriptionOf: () => undefined,
    complete: completeCreditNote,
    async apply(context: ApplyContext) {
      const object = context.event.object;
      const id = idOf(object.id);
      if (!id) return 'ignored';
      const { lines, complete } = carriedLines(object);
      if (!complete) throw new WebhookError(`credit note ${id} has more lines than its event carries: the event was not completed from Stripe`);
      await lockStripeObject(context.tx, `stripe-credit-note:${id}`);
      await act(context, { id, lines: creditNoteLineFields(lines) });
    },
  };
}
