-- Per account, UTC hour and operation: answers, server errors and latency buckets (issue 22).
CREATE TABLE "sla_hours" (
    "account_id" UUID NOT NULL,
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "operation" TEXT NOT NULL,
    "requests" INTEGER NOT NULL,
    "server_errors" INTEGER NOT NULL,
    "latency_buckets" INTEGER[],

    CONSTRAINT "sla_hours_pkey" PRIMARY KEY ("account_id","hour","operation")
);
