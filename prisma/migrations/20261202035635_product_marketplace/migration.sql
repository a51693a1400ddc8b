-- AlterEnum
ALTER TYPE "ApiKeyRole" ADD VALUE 'PUBLISHER';

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "domains" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "data_products" ADD COLUMN     "add_on_monthly_price_cents" INTEGER,
ADD COLUMN     "meter_event_name" TEXT,
ADD COLUMN     "stripe_add_on_price_id" TEXT,
ADD COLUMN     "stripe_meter_id" TEXT,
ADD COLUMN     "stripe_metered_price_id" TEXT,
ADD COLUMN     "stripe_product_id" TEXT,
ADD COLUMN     "unit_amount_decimal" TEXT;

-- AlterTable
ALTER TABLE "meter_reports" ADD COLUMN     "product" TEXT;

-- AlterTable
ALTER TABLE "usage_records" ADD COLUMN     "product" TEXT;

-- CreateTable
CREATE TABLE "product_add_ons" (
    "stripe_subscription_id" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "product" TEXT NOT NULL,
    "status" "SubscriptionStatus" NOT NULL,
    "last_event_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "product_add_ons_pkey" PRIMARY KEY ("stripe_subscription_id")
);

-- CreateIndex
CREATE INDEX "product_add_ons_account_id_status_idx" ON "product_add_ons"("account_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "data_products_meter_event_name_key" ON "data_products"("meter_event_name");

-- CreateIndex
CREATE INDEX "usage_records_product_occurred_at_idx" ON "usage_records"("product", "occurred_at");
