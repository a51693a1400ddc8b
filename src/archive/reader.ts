import type { ObjectStore } from './object-store';

/** The rows of one archive object, binary columns as bytes (the raw `key` and `value` of a record). */
export async function readArchiveObject(store: ObjectStore, key: string): Promise<Array<Record<string, unknown>>> {
  const { parquetReadObjects } = await import('hyparquet');
  const bytes = await store.get(key);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parquetReadObjects({ file, utf8: false });
}
