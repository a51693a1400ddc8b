-- Written by hand: Prisma's schema language has no per-column statistics target, so the engine
-- neither writes nor diffs this (schema.prisma says so at RiskScore).
--
-- The history takes a row per scored event, so autovacuum analyses it about once a minute while
-- it grows (every 10 % of new rows). With the default target (100: a sample of 30,000 rows, a
-- histogram per column) one ANALYZE of 600,000 rows took 240-260 ms of a core here, a burst on a
-- machine whose cores the pipeline shares; with 10 (3,000 rows) it took 18 ms. Every query of this
-- table is by customer (its index, newest first) or by event id (its key), whose plans do not turn
-- on fine histograms; `factors` is never filtered on, so it needs none.
ALTER TABLE "risk_scores"
  ALTER COLUMN "event_id" SET STATISTICS 10,
  ALTER COLUMN "customer_id" SET STATISTICS 10,
  ALTER COLUMN "score" SET STATISTICS 10,
  ALTER COLUMN "band" SET STATISTICS 10,
  ALTER COLUMN "factors" SET STATISTICS 0,
  ALTER COLUMN "model_version" SET STATISTICS 10,
  ALTER COLUMN "event_time" SET STATISTICS 10,
  ALTER COLUMN "computed_at" SET STATISTICS 10,
  ALTER COLUMN "merchant_id" SET STATISTICS 10,
  ALTER COLUMN "mcc" SET STATISTICS 10,
  ALTER COLUMN "amount" SET STATISTICS 10,
  ALTER COLUMN "currency" SET STATISTICS 10,
  ALTER COLUMN "country" SET STATISTICS 10,
  ALTER COLUMN "channel" SET STATISTICS 10,
  ALTER COLUMN "device_id" SET STATISTICS 10,
  ALTER COLUMN "partition" SET STATISTICS 10,
  ALTER COLUMN "offset" SET STATISTICS 10;
