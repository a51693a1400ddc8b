-- CreateTable
CREATE TABLE "sla_flushes" (
    "id" TEXT NOT NULL,
    "flushed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sla_flushes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sla_flushes_flushed_at_idx" ON "sla_flushes"("flushed_at");
