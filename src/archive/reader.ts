import type { ObjectStore } from './object-store';

/**
 * The rows of one archive object. Without `columns`: every column, binary ones as bytes (the raw
 * `key` and `value` of a record). With: those columns only, strings as strings.
 */
export async function readArchiveObject(store: ObjectStore, key: string, columns?: string[]): Promise<Array<Record<string, unknown>>> {
  const { parquetReadObjects } = await import('hyparquet');
  const bytes = await store.get(key);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return columns ? parquetReadObjects({ file, columns }) : parquetReadObjects({ file, utf8: false });
}
