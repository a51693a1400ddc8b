-- DropIndex
DROP INDEX "risk_scores_customer_id_event_time_event_id_idx";

-- AlterTable
ALTER TABLE "risk_scores" ALTER COLUMN "factors" SET DATA TYPE JSON;

-- CreateIndex
CREATE INDEX "risk_scores_customer_id_event_time_idx" ON "risk_scores"("customer_id", "event_time");
