-- CreateTable
CREATE TABLE "archive_segments" (
    "topic" TEXT NOT NULL,
    "partition" INTEGER NOT NULL,
    "from_offset" BIGINT NOT NULL,
    "to_offset" BIGINT NOT NULL,
    "dataset" TEXT NOT NULL,
    "records" INTEGER NOT NULL,
    "objects" TEXT[],
    "min_time" TIMESTAMPTZ(3) NOT NULL,
    "max_time" TIMESTAMPTZ(3) NOT NULL,
    "committed" BOOLEAN NOT NULL DEFAULT false,
    "owner" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "committed_at" TIMESTAMPTZ(3),

    CONSTRAINT "archive_segments_pkey" PRIMARY KEY ("topic","partition","from_offset")
);

-- CreateIndex
CREATE INDEX "archive_segments_dataset_min_time_idx" ON "archive_segments"("dataset", "min_time");
