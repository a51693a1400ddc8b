-- AlterTable
ALTER TABLE "archive_segments" ADD COLUMN     "history_pruned_at" TIMESTAMPTZ(3);
