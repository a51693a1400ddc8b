import { TRANSACTION_AVRO_SCHEMA, TRANSACTIONS_SUBJECT } from '../catalog/customer-risk-scores';
import { RegistryError } from '../catalog/registry/errors';
import { SchemaRegistry } from '../catalog/registry/service';
import type { Config } from '../config/schema';
import { openDatabase } from '../db/client';
import { encodeTransactionAvro } from '../risk/avro';
import type { FeedMessage } from './generator';
import { Random } from './random';

/**
 * The registry id of the transactions contract's Avro schema, looked up in the catalog's registry
 * through the database the gateway uses (DATABASE_URL, or the embedded one in DATA_DIR): the
 * customer-risk-scores product registers it when the gateway first starts.
 */
export async function transactionsSchemaId(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): Promise<number> {
  const db = await openDatabase(config.DATABASE_URL ? { url: config.DATABASE_URL, poolSize: 1 } : { dataDir: config.DATA_DIR });
  try {
    return (await new SchemaRegistry(db.prisma).lookup({ admin: true }, TRANSACTIONS_SUBJECT, TRANSACTION_AVRO_SCHEMA)).id;
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) {
      throw new Error(
        `the transactions Avro schema is not registered as subject ${TRANSACTIONS_SUBJECT} in this database's schema registry (start the gateway once: it registers it)`,
      );
    }
    throw error;
  } finally {
    await db.close();
  }
}

/**
 * Sends a share of the feed's valid events as Confluent-framed Avro with schema `id`, the others
 * as they are (JSON; broken messages stay broken). Which ones is drawn from `seed`, so a feed
 * with the same options is the same bytes.
 */
export function avroShare(id: number, share: number, seed: number): (message: FeedMessage) => FeedMessage {
  const random = new Random((seed ^ 0x41767230) >>> 0);
  return (message) => (message.event && random.chance(share) ? { ...message, value: encodeTransactionAvro(id, message.event) } : message);
}
