-- CreateIndex
CREATE INDEX "usage_records_occurred_brin" ON "usage_records" USING BRIN ("occurred_at");
