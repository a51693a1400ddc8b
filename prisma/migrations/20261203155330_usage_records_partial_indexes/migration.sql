-- DropIndex
DROP INDEX "usage_records_meter_report_id_idx";

-- DropIndex
DROP INDEX "usage_records_product_occurred_at_idx";

-- CreateIndex
CREATE INDEX "usage_records_product_occurred_at_idx" ON "usage_records"("product", "occurred_at") WHERE (product IS NOT NULL);

-- CreateIndex
CREATE INDEX "usage_records_meter_report_id_idx" ON "usage_records"("meter_report_id") WHERE (meter_report_id IS NOT NULL);
