import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { InvoiceLineFields } from './webhooks/stripe-objects';

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
