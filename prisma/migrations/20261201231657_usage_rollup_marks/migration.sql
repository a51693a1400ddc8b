-- CreateTable
CREATE TABLE "usage_rollup_marks" (
    "account_id" UUID NOT NULL,
    "through" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "usage_rollup_marks_pkey" PRIMARY KEY ("account_id")
);

-- AddForeignKey
ALTER TABLE "usage_rollup_marks" ADD CONSTRAINT "usage_rollup_marks_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
