-- Per-process concurrency held for an account under overload (issue 22): a plan-wide value
-- (0 = none) and a per-account override (null = the plan's).
ALTER TABLE "accounts" ADD COLUMN "reserved_concurrency" INTEGER;

ALTER TABLE "plans" ADD COLUMN "reserved_concurrency" INTEGER NOT NULL DEFAULT 0;
