-- AlterTable
ALTER TABLE "stripe_events" ADD COLUMN     "stripe_subscription_id" TEXT;

-- CreateIndex
CREATE INDEX "stripe_events_stripe_subscription_id_stripe_created_at_idx" ON "stripe_events"("stripe_subscription_id", "stripe_created_at");
