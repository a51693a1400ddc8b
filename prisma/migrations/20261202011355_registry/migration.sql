-- CreateEnum
CREATE TYPE "RegistryCompatibility" AS ENUM ('BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE');

-- AlterTable
ALTER TABLE "data_products" ADD COLUMN     "event_avro_schema_id" INTEGER,
ADD COLUMN     "event_avro_subject" TEXT;

-- CreateTable
CREATE TABLE "registry_schemas" (
    "id" SERIAL NOT NULL,
    "schema" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registry_schemas_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registry_subjects" (
    "name" TEXT NOT NULL,
    "data_product_id" UUID,
    "compatibility" "RegistryCompatibility",
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registry_subjects_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "registry_versions" (
    "subject" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "schema_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registry_versions_pkey" PRIMARY KEY ("subject","version")
);

-- CreateIndex
CREATE UNIQUE INDEX "registry_schemas_fingerprint_key" ON "registry_schemas"("fingerprint");

-- CreateIndex
CREATE INDEX "registry_subjects_data_product_id_idx" ON "registry_subjects"("data_product_id");

-- CreateIndex
CREATE INDEX "registry_versions_schema_id_idx" ON "registry_versions"("schema_id");

-- CreateIndex
CREATE UNIQUE INDEX "registry_versions_subject_schema_id_key" ON "registry_versions"("subject", "schema_id");

-- AddForeignKey
ALTER TABLE "data_products" ADD CONSTRAINT "data_products_event_avro_schema_id_fkey" FOREIGN KEY ("event_avro_schema_id") REFERENCES "registry_schemas"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registry_subjects" ADD CONSTRAINT "registry_subjects_data_product_id_fkey" FOREIGN KEY ("data_product_id") REFERENCES "data_products"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registry_versions" ADD CONSTRAINT "registry_versions_subject_fkey" FOREIGN KEY ("subject") REFERENCES "registry_subjects"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registry_versions" ADD CONSTRAINT "registry_versions_schema_id_fkey" FOREIGN KEY ("schema_id") REFERENCES "registry_schemas"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
