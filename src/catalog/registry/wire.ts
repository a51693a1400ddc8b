/**
 * Confluent's wire format for a registered schema's data: magic byte 0, the schema's registry id
 * as a 4-byte big-endian integer, then the Avro binary encoding. A JSON value never starts with
 * byte 0, so one byte tells the two apart.
 */
export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

/** `payload` (Avro binary) framed with schema `id`. */
export function frame(id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(id, 1);
  payload.copy(out, HEADER_BYTES);
  return out;
}

/** The schema id of a framed value; undefined when the value is not framed (or too short to be). */
export function framedSchemaId(value: Buffer | null | undefined): number | undefined {
  return value && value.length >= HEADER_BYTES && value[0] === MAGIC_BYTE ? value.readInt32BE(1) : undefined;
}
