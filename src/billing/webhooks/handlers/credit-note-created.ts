import { recordCreditNoteLines } from '../../invoice-lines';
import { WebhookError } from '../handler';
import { idOf, str } from '../stripe-objects';
import { creditNoteHandler } from './credit-notes';

/**
 * A credit note took back part of a paid invoice (a refund, a credit to the balance, or a
 * reduction of what is owed): its lines are recorded as negative lines of that invoice, where
 * the lines they credit count, so revenue per data product is net of credits. A note voided
 * before this event was applied (events come in any order) records nothing; one that credits
 * lines not recorded yet fails until its invoice's `invoice.paid` has been applied.
 */
export const creditNoteCreated = creditNoteHandler('credit_note.created', 6, async ({ tx, event }, note) => {
  const invoiceId = idOf(event.object.invoice);
  if (!invoiceId) throw new WebhookError(`credit note ${note.id} names no invoice`);
  const voided = await tx.stripeEvent.count({ where: { type: 'credit_note.voided', objectId: note.id, id: { not: event.id } } });
  if (voided > 0) return;
  const missing = await recordCreditNoteLines(
    tx,
    {
      id: note.id,
      invoiceId,
      stripeCustomerId: idOf(event.object.customer) ?? null,
      currency: str(event.object.currency) ?? 'usd',
      createdAt: event.created,
      eventId: event.id,
    },
    note.lines,
  );
  if (missing.length)
    throw new WebhookError(
      `credit note ${note.id} credits invoice lines not recorded yet (${missing.slice(0, 3).join(', ')}): its invoice's invoice.paid has not been applied; Stripe will deliver this event again`,
    );
});
