import { ABSENT, LENGTH, PackedBytes } from '../ops/packed-bytes';
import type { KafkaRecord } from './record-producer';

/**
 * Records as one run of bytes their own, for another thread: per record its key and its value
 * (PackedBytes' data: a uint32 byte length, ABSENT for none, then the bytes; strings as UTF-8),
 * the number of its headers (a uint32), then each header's name and value the same way.
 */
export function packRecords(records: KafkaRecord[]): Uint8Array {
  const packed = new PackedBytes();
  for (const { key, value, headers } of records) {
    packed.data(key);
    packed.data(value);
    const names = headers ? Object.keys(headers) : [];
    packed.uint32(names.length);
    for (const name of names) {
      packed.string(name);
      packed.string(headers![name]);
    }
  }
  // Only the exact bytes leave (a copy the caller owns); the buffer is kept for the next records.
  const own = new Uint8Array(packed.bytes);
  packed.release();
  return own;
}

/** The records packRecords packed: keys and values are views on `packed` (not copies), header names and values strings. */
export function unpackRecords(packed: Uint8Array): KafkaRecord[] {
  const bytes = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const records: KafkaRecord[] = [];
  let at = 0;
  const data = (): Buffer | null => {
    const length = bytes.readUInt32LE(at);
    at += LENGTH;
    if (length === ABSENT) return null;
    const value = bytes.subarray(at, at + length);
    at += length;
    return value;
  };
  while (at < bytes.length) {
    const key = data();
    const value = data();
    const count = bytes.readUInt32LE(at);
    at += LENGTH;
    let headers: Record<string, string> | undefined;
    for (let i = 0; i < count; i++) {
      const name = data()!.toString();
      (headers ??= {})[name] = data()!.toString();
    }
    records.push(headers ? { key, value, headers } : { key, value });
  }
  return records;
}
