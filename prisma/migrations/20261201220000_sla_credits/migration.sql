-- Availability promises and service credits (issue 22).
ALTER TABLE "plans" ADD COLUMN "sla_availability" DOUBLE PRECISION,
ADD COLUMN "sla_credit_percent" INTEGER NOT NULL DEFAULT 0;

CREATE TABLE "sla_credits" (
    "account_id" UUID NOT NULL,
    "month" TEXT NOT NULL,
    "availability" DOUBLE PRECISION NOT NULL,
    "promised" DOUBLE PRECISION NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "stripe_balance_transaction_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sla_credits_pkey" PRIMARY KEY ("account_id","month")
);

CREATE UNIQUE INDEX "sla_credits_stripe_balance_transaction_id_key" ON "sla_credits"("stripe_balance_transaction_id");

-- The promises the seeded plans make (their `sla` text): existing installations get them too.
UPDATE "plans" SET "sla_availability" = 0.999, "sla_credit_percent" = 10 WHERE "code" = 'PROFESSIONAL';
UPDATE "plans" SET "sla_availability" = 0.9995, "sla_credit_percent" = 25 WHERE "code" = 'ENTERPRISE';
