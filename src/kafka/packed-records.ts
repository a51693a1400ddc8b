import type { KafkaRecord } from './record-producer';

/** Length of an absent key or value. */
const NULL = 0xffffffff;
/** Bytes of a length. */
const LENGTH = 4;

/** Reused for every call: only the exact bytes leave it (a copy the caller owns). */
let scratch = Buffer.allocUnsafeSlow(1024 * 1024);

/**
 * Records as one run of bytes their own, for another thread: per record its key and its value
 * (a uint32 byte length, 0xffffffff for none, then the bytes; strings as UTF-8), the number of its
 * headers (a uint32), then each header's name and value the same way. Little-endian.
 */
export function packRecords(records: KafkaRecord[]): Uint8Array {
  let at = 0;
  const room = (bytes: number) => {
    if (at + bytes <= scratch.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, at + bytes));
    scratch.copy(grown, 0, 0, at);
    scratch = grown;
  };
  const data = (value: string | Buffer | null | undefined) => {
    if (value === null || value === undefined) {
      room(LENGTH);
      at = scratch.writeUInt32LE(NULL, at);
    } else if (typeof value === 'string') {
      // UTF-16 code units → UTF-8 bytes: at most 3 each.
      room(LENGTH + value.length * 3);
      const written = scratch.write(value, at + LENGTH);
      scratch.writeUInt32LE(written, at);
      at += LENGTH + written;
    } else {
      room(LENGTH + value.length);
      scratch.writeUInt32LE(value.length, at);
      scratch.set(value, at + LENGTH);
      at += LENGTH + value.length;
    }
  };
  for (const { key, value, headers } of records) {
    data(key);
    data(value);
    const names = headers ? Object.keys(headers) : [];
    room(LENGTH);
    at = scratch.writeUInt32LE(names.length, at);
    for (const name of names) {
      data(name);
      data(headers![name]);
    }
  }
  return new Uint8Array(scratch.subarray(0, at));
}

/** The records packRecords packed: keys and values are views on `packed` (not copies), header names and values strings. */
export function unpackRecords(packed: Uint8Array): KafkaRecord[] {
  const bytes = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const records: KafkaRecord[] = [];
  let at = 0;
  const data = (): Buffer | null => {
    const length = bytes.readUInt32LE(at);
    at += LENGTH;
    if (length === NULL) return null;
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
