-- AlterTable
ALTER TABLE "risk_state_chunks" ADD COLUMN     "data" BYTEA,
ALTER COLUMN "states" DROP NOT NULL;

-- Added by hand (Prisma cannot say a column's storage): like `states`, stored out of line without
-- compression. With the default (EXTENDED), pglz spent 18 µs of PostgreSQL's CPU per state
-- compressing every checkpoint's chunk, against 2 for the uncompressed text.
ALTER TABLE "risk_state_chunks" ALTER COLUMN "data" SET STORAGE EXTERNAL;

-- Added by hand (Prisma cannot say a check): a chunk is held by exactly one of the two columns.
ALTER TABLE "risk_state_chunks" ADD CONSTRAINT "risk_state_chunks_one_form" CHECK (num_nonnulls("states", "data") = 1);
