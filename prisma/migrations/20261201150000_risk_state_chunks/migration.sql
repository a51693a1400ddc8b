-- DropTable
DROP TABLE "customer_risk_states";

-- CreateTable
CREATE TABLE "risk_state_chunks" (
    "id" BIGSERIAL NOT NULL,
    "group_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "to_offset" BIGINT NOT NULL,
    "states" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "risk_state_chunks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "risk_state_chunks_group_id_topic_partition_id_idx" ON "risk_state_chunks"("group_id", "topic", "partition", "id");

-- The chunks are JSON text of up to megabytes, written every second and read only on restore:
-- stored out of line without compression (pglz would spend the server's CPU on every checkpoint).
ALTER TABLE "risk_state_chunks" ALTER COLUMN "states" SET STORAGE EXTERNAL;
