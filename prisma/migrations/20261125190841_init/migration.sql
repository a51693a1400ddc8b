-- CreateEnum
CREATE TYPE "PlanCode" AS ENUM ('FREE', 'PROFESSIONAL', 'ENTERPRISE');

-- CreateEnum
CREATE TYPE "ApiKeyRole" AS ENUM ('SUBSCRIBER', 'ADMIN');

-- CreateEnum
CREATE TYPE "SubscriptionStatus" AS ENUM ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused');

-- CreateEnum
CREATE TYPE "StripeEventStatus" AS ENUM ('RECEIVED', 'PROCESSED', 'FAILED', 'IGNORED');

-- CreateEnum
CREATE TYPE "DataProductLifecycle" AS ENUM ('DRAFT', 'PUBLISHED', 'DEPRECATED');

-- CreateEnum
CREATE TYPE "UsageGranularity" AS ENUM ('HOUR', 'DAY');

-- CreateEnum
CREATE TYPE "MeterReportStatus" AS ENUM ('PENDING', 'SENT', 'FAILED', 'TOO_OLD');

-- CreateEnum
CREATE TYPE "RiskBand" AS ENUM ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

-- CreateEnum
CREATE TYPE "TransactionChannel" AS ENUM ('CARD_PRESENT', 'ECOMMERCE', 'ATM', 'TRANSFER');

-- CreateTable
CREATE TABLE "accounts" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "plan_code" "PlanCode" NOT NULL DEFAULT 'FREE',
    "stripe_customer_id" TEXT,
    "daily_quota" INTEGER,
    "burst_per_second" INTEGER,
    "max_query_cost" INTEGER,
    "max_depth" INTEGER,
    "disabled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "role" "ApiKeyRole" NOT NULL DEFAULT 'SUBSCRIBER',
    "name" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "created_by_key_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "plans" (
    "code" "PlanCode" NOT NULL,
    "name" TEXT NOT NULL,
    "monthly_price_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'usd',
    "daily_quota" INTEGER NOT NULL,
    "burst_per_second" INTEGER NOT NULL,
    "max_query_cost" INTEGER NOT NULL,
    "max_depth" INTEGER NOT NULL,
    "sla" TEXT,
    "features" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "entitlements" JSONB NOT NULL DEFAULT '{}',
    "stripe_product_id" TEXT,
    "stripe_flat_price_id" TEXT,
    "stripe_metered_price_id" TEXT,
    "overage_unit_amount_decimal" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plans_pkey" PRIMARY KEY ("code")
);

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "subscriptions" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "plan_code" "PlanCode" NOT NULL,
    "status" "SubscriptionStatus" NOT NULL,
    "stripe_subscription_id" TEXT,
    "stripe_customer_id" TEXT,
    "stripe_price_id" TEXT,
    "current_period_start" TIMESTAMPTZ(3),
    "current_period_end" TIMESTAMPTZ(3),
    "cancel_at_period_end" BOOLEAN NOT NULL DEFAULT false,
    "canceled_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "trial_end" TIMESTAMPTZ(3),
    "past_due_since" TIMESTAMPTZ(3),
    "stripe_updated_at" TIMESTAMPTZ(3),
    "last_event_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "stripe_events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "object_id" TEXT,
    "livemode" BOOLEAN NOT NULL DEFAULT false,
    "payload" JSONB NOT NULL,
    "status" "StripeEventStatus" NOT NULL DEFAULT 'RECEIVED',
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "stripe_created_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),

    CONSTRAINT "stripe_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "data_products" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "graphql_type" TEXT NOT NULL,
    "event_schema" JSONB NOT NULL,
    "slo" JSONB NOT NULL,
    "quality" JSONB NOT NULL DEFAULT '{}',
    "access_policy" JSONB NOT NULL,
    "version" TEXT NOT NULL DEFAULT '1.0.0',
    "lifecycle" "DataProductLifecycle" NOT NULL DEFAULT 'DRAFT',
    "published_at" TIMESTAMPTZ(3),
    "deprecated_at" TIMESTAMPTZ(3),
    "quality_updated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "data_products_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_records" (
    "request_id" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "api_key_id" UUID,
    "plan_code" "PlanCode" NOT NULL,
    "operation" TEXT NOT NULL,
    "meter" TEXT NOT NULL DEFAULT 'api_cost_units',
    "cost_units" INTEGER NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "meter_report_id" UUID,
    "reported_at" TIMESTAMPTZ(3),

    CONSTRAINT "usage_records_pkey" PRIMARY KEY ("request_id")
);

-- CreateTable
CREATE TABLE "usage_rollups" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "granularity" "UsageGranularity" NOT NULL,
    "bucket_start" TIMESTAMPTZ(3) NOT NULL,
    "meter" TEXT NOT NULL DEFAULT 'api_cost_units',
    "requests" INTEGER NOT NULL DEFAULT 0,
    "cost_units" INTEGER NOT NULL DEFAULT 0,
    "reported_units" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_rollups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "meter_reports" (
    "id" UUID NOT NULL,
    "identifier" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "stripe_customer_id" TEXT,
    "event_name" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "window_end" TIMESTAMPTZ(3) NOT NULL,
    "units" INTEGER NOT NULL,
    "status" "MeterReportStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "meter_reports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "quota_alerts" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "threshold" INTEGER NOT NULL,
    "used_units" INTEGER NOT NULL,
    "quota" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "notified_at" TIMESTAMPTZ(3),

    CONSTRAINT "quota_alerts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "risk_scores" (
    "event_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "band" "RiskBand" NOT NULL,
    "factors" JSONB NOT NULL,
    "model_version" TEXT NOT NULL,
    "event_time" TIMESTAMPTZ(3) NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL,
    "merchant_id" TEXT,
    "mcc" TEXT,
    "amount" DECIMAL(18,4),
    "currency" CHAR(3),
    "country" CHAR(2),
    "channel" "TransactionChannel",
    "device_id" TEXT,
    "partition" INTEGER,
    "offset" BIGINT,

    CONSTRAINT "risk_scores_pkey" PRIMARY KEY ("event_id")
);

-- CreateTable
CREATE TABLE "latest_risk_scores" (
    "customer_id" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "band" "RiskBand" NOT NULL,
    "factors" JSONB NOT NULL,
    "model_version" TEXT NOT NULL,
    "event_time" TIMESTAMPTZ(3) NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "latest_risk_scores_pkey" PRIMARY KEY ("customer_id")
);

-- CreateTable
CREATE TABLE "consumer_checkpoints" (
    "group_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "next_offset" BIGINT NOT NULL,
    "owner" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_checkpoints_pkey" PRIMARY KEY ("group_id","topic","partition")
);

-- CreateTable
CREATE TABLE "customer_risk_states" (
    "group_id" TEXT NOT NULL,
    "customer_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "state" JSONB NOT NULL,
    "last_event_time" TIMESTAMPTZ(3) NOT NULL,
    "event_count" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_risk_states_pkey" PRIMARY KEY ("group_id","customer_id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" UUID NOT NULL,
    "actor_key_id" UUID,
    "actor_account_id" UUID,
    "actor_type" TEXT NOT NULL DEFAULT 'key',
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "request_id" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "accounts_email_key" ON "accounts"("email");

-- CreateIndex
CREATE UNIQUE INDEX "accounts_stripe_customer_id_key" ON "accounts"("stripe_customer_id");

-- CreateIndex
CREATE INDEX "accounts_plan_code_idx" ON "accounts"("plan_code");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "api_keys_account_id_created_at_idx" ON "api_keys"("account_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "plans_stripe_product_id_key" ON "plans"("stripe_product_id");

-- CreateIndex
CREATE UNIQUE INDEX "plans_stripe_flat_price_id_key" ON "plans"("stripe_flat_price_id");

-- CreateIndex
CREATE UNIQUE INDEX "plans_stripe_metered_price_id_key" ON "plans"("stripe_metered_price_id");

-- CreateIndex
CREATE UNIQUE INDEX "subscriptions_stripe_subscription_id_key" ON "subscriptions"("stripe_subscription_id");

-- CreateIndex
CREATE INDEX "subscriptions_account_id_status_idx" ON "subscriptions"("account_id", "status");

-- CreateIndex
CREATE INDEX "subscriptions_stripe_customer_id_idx" ON "subscriptions"("stripe_customer_id");

-- CreateIndex
CREATE INDEX "stripe_events_status_received_at_idx" ON "stripe_events"("status", "received_at");

-- CreateIndex
CREATE INDEX "stripe_events_type_stripe_created_at_idx" ON "stripe_events"("type", "stripe_created_at");

-- CreateIndex
CREATE INDEX "stripe_events_object_id_idx" ON "stripe_events"("object_id");

-- CreateIndex
CREATE UNIQUE INDEX "data_products_slug_key" ON "data_products"("slug");

-- CreateIndex
CREATE INDEX "data_products_domain_lifecycle_idx" ON "data_products"("domain", "lifecycle");

-- CreateIndex
CREATE INDEX "usage_records_account_id_occurred_at_idx" ON "usage_records"("account_id", "occurred_at");

-- CreateIndex
CREATE INDEX "usage_records_meter_report_id_idx" ON "usage_records"("meter_report_id");

-- CreateIndex
CREATE INDEX "usage_records_unreported_idx" ON "usage_records"("occurred_at", "account_id") WHERE (meter_report_id IS NULL);

-- CreateIndex
CREATE INDEX "usage_rollups_granularity_bucket_start_idx" ON "usage_rollups"("granularity", "bucket_start");

-- CreateIndex
CREATE UNIQUE INDEX "usage_rollups_account_id_granularity_bucket_start_meter_key" ON "usage_rollups"("account_id", "granularity", "bucket_start", "meter");

-- CreateIndex
CREATE UNIQUE INDEX "meter_reports_identifier_key" ON "meter_reports"("identifier");

-- CreateIndex
CREATE INDEX "meter_reports_status_next_attempt_at_idx" ON "meter_reports"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "meter_reports_account_id_window_start_idx" ON "meter_reports"("account_id", "window_start");

-- CreateIndex
CREATE INDEX "quota_alerts_day_idx" ON "quota_alerts"("day");

-- CreateIndex
CREATE UNIQUE INDEX "quota_alerts_account_id_day_threshold_key" ON "quota_alerts"("account_id", "day", "threshold");

-- CreateIndex
CREATE INDEX "risk_scores_customer_id_event_time_event_id_idx" ON "risk_scores"("customer_id", "event_time", "event_id");

-- CreateIndex
CREATE INDEX "risk_scores_event_time_idx" ON "risk_scores"("event_time");

-- CreateIndex
CREATE INDEX "latest_risk_scores_score_customer_id_idx" ON "latest_risk_scores"("score" DESC, "customer_id");

-- CreateIndex
CREATE INDEX "customer_risk_states_group_id_topic_partition_idx" ON "customer_risk_states"("group_id", "topic", "partition");

-- CreateIndex
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");

-- CreateIndex
CREATE INDEX "audit_log_target_type_target_id_idx" ON "audit_log"("target_type", "target_id");

-- CreateIndex
CREATE INDEX "audit_log_actor_account_id_at_idx" ON "audit_log"("actor_account_id", "at");

-- AddForeignKey
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_plan_code_fkey" FOREIGN KEY ("plan_code") REFERENCES "plans"("code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_plan_code_fkey" FOREIGN KEY ("plan_code") REFERENCES "plans"("code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_meter_report_id_fkey" FOREIGN KEY ("meter_report_id") REFERENCES "meter_reports"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_rollups" ADD CONSTRAINT "usage_rollups_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "meter_reports" ADD CONSTRAINT "meter_reports_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "quota_alerts" ADD CONSTRAINT "quota_alerts_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
