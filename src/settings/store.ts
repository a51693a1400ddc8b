import type { Prisma, PrismaClient } from '../generated/prisma/client';

/**
 * The `settings` table: small global values other domains keep under their own keys (the Stripe
 * meter, the registry's global compatibility, bootstrap markers). A client or a transaction
 * client, so a value can be written in the same transaction as what it describes.
 */
type Db = PrismaClient | Prisma.TransactionClient;

export async function readSetting(db: Db, key: string): Promise<Prisma.JsonValue | undefined> {
  return (await db.setting.findUnique({ where: { key } }))?.value;
}

export async function writeSetting(db: Db, key: string, value: Prisma.InputJsonValue): Promise<void> {
  await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
}

/** Fails when the key is taken: for one-time markers, whose second writer must not pass silently. */
export async function createSetting(db: Db, key: string, value: Prisma.InputJsonValue): Promise<void> {
  await db.setting.create({ data: { key, value } });
}
