import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { CreditNoteLineFields, InvoiceLineFields } from './webhooks/stripe-objects';

type Db = PrismaClient | Prisma.TransactionClient;

/** The invoice a set of lines belongs to, as its `invoice.paid` event says. */
export interface PaidInvoice {
  id: string;
  stripeCustomerId: string | null;
  stripeSubscriptionId: string | null;
  paidAt: Date;
  eventId: string;
}

/** Records a paid invoice's lines in the Stripe event's transaction; a line already recorded (a redelivered or re-applied event) is left as it is. */
export async function recordInvoiceLines(tx: Prisma.TransactionClient, invoice: PaidInvoice, lines: InvoiceLineFields[]): Promise<void> {
  if (lines.length === 0) return;
  await tx.invoiceLine.createMany({
    data: lines.map((line) => ({
      id: line.id,
      invoiceId: invoice.id,
      stripeCustomerId: invoice.stripeCustomerId,
      stripeSubscriptionId: invoice.stripeSubscriptionId,
      stripePriceId: line.priceId,
      stripeProductId: line.productId,
      amount: BigInt(line.amount),
      currency: line.currency,
      periodStart: line.periodStart,
      periodEnd: line.periodEnd,
      paidAt: invoice.paidAt,
      attributedAt: line.periodStart ?? invoice.paidAt,
      eventId: invoice.eventId,
    })),
    skipDuplicates: true,
  });
}

/** A credit note, as its `credit_note.created` event says. */
export interface IssuedCreditNote {
  id: string;
  invoiceId: string;
  stripeCustomerId: string | null;
  currency: string;
  createdAt: Date;
  eventId: string;
}

/**
 * Records a credit note's lines as negative lines of the invoice it credits, each where the line
 * it takes back counts (its product, its month of service), so revenue is what was charged less
 * what was credited; a custom line (crediting no invoice line) counts for no product, in the month
 * of the note. Records nothing and answers the ids of credited lines not recorded yet (their
 * invoice's `invoice.paid` has not been applied): the event is applied again later.
 */
export async function recordCreditNoteLines(tx: Prisma.TransactionClient, note: IssuedCreditNote, lines: CreditNoteLineFields[]): Promise<string[]> {
  const creditedIds = lines.map((line) => line.invoiceLineId).filter((id): id is string => id !== null);
  const credited = new Map((await tx.invoiceLine.findMany({ where: { id: { in: creditedIds } } })).map((line) => [line.id, line]));
  const missing = creditedIds.filter((id) => !credited.has(id));
  if (missing.length || lines.length === 0) return missing;
  await tx.invoiceLine.createMany({
    data: lines.map((line) => {
      const of = line.invoiceLineId === null ? undefined : credited.get(line.invoiceLineId);
      return {
        id: line.id,
        invoiceId: of?.invoiceId ?? note.invoiceId,
        stripeCustomerId: of?.stripeCustomerId ?? note.stripeCustomerId,
        stripeSubscriptionId: of?.stripeSubscriptionId ?? null,
        stripePriceId: of?.stripePriceId ?? null,
        stripeProductId: of?.stripeProductId ?? null,
        amount: -BigInt(line.amount),
        currency: of?.currency ?? note.currency,
        periodStart: of?.periodStart ?? null,
        periodEnd: of?.periodEnd ?? null,
        paidAt: note.createdAt,
        attributedAt: of?.attributedAt ?? note.createdAt,
        eventId: note.eventId,
      };
    }),
    skipDuplicates: true,
  });
  return [];
}

/** A voided credit note's lines no longer count. */
export async function removeCreditNoteLines(tx: Prisma.TransactionClient, lineIds: string[]): Promise<void> {
  if (lineIds.length) await tx.invoiceLine.deleteMany({ where: { id: { in: lineIds } } });
}

/**
 * What paid invoices charged per Stripe product and UTC month, in `currency`'s smallest unit: a
 * line counts in the month its period starts (the month of service; the payment for a line
 * without a period), for lines that count in [from, to).
 */
export async function invoicedByStripeProduct(
  db: Db,
  from: Date,
  to: Date,
  currency: string,
): Promise<Array<{ month: string; stripeProductId: string; amount: number }>> {
  const rows = await db.$queryRaw<Array<{ month: string; stripe_product_id: string; amount: bigint }>>`
    SELECT to_char(attributed_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, stripe_product_id, sum(amount)::bigint AS amount
    FROM invoice_lines
    WHERE attributed_at >= ${from} AND attributed_at < ${to} AND stripe_product_id IS NOT NULL AND currency = ${currency}
    GROUP BY 1, 2`;
  return rows.map((row) => ({ month: row.month, stripeProductId: row.stripe_product_id, amount: Number(row.amount) }));
}
