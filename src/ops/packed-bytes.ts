/** Bytes of a packed length. */
export const LENGTH = 4;
/** The length that stands for no value. */
export const ABSENT = 0xffffffff;
/** A payload of a few hundred scores or records fits without growing. */
const BUFFER_BYTES = 512 * 1024;
/** Buffers of payloads already read, for the next ones: a new one per payload made V8 count external memory and collect more often. */
const spare: Buffer[] = [];
const MAX_SPARE = 8;

/**
 * Values packed into bytes as they are added, for another thread of the process (the latest-score
 * and producer threads): strings as UTF-8 and byte runs after their length (a uint32, ABSENT for
 * none), numbers little-endian. The buffer comes from a few kept for reuse; `release` gives it back
 * once the bytes have been read (copied or sent).
 */
export class PackedBytes {
  protected buffer = spare.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
  protected used = 0;

  get bytes(): Buffer {
    return this.buffer.subarray(0, this.used);
  }

  /** Once the bytes have been read: the buffer goes back to be reused. */
  release(): void {
    if (this.buffer.length === BUFFER_BYTES && spare.length < MAX_SPARE) spare.push(this.buffer);
  }

  uint32(value: number): void {
    this.room(LENGTH);
    this.used = this.buffer.writeUInt32LE(value, this.used);
  }

  string(text: string): void {
    // UTF-16 code units → UTF-8 bytes: at most 3 each.
    this.room(LENGTH + text.length * 3);
    const written = this.buffer.write(text, this.used + LENGTH);
    this.buffer.writeUInt32LE(written, this.used);
    this.used += LENGTH + written;
  }

  /** A string, a run of bytes, or none (ABSENT). */
  data(value: string | Uint8Array | null | undefined): void {
    if (value === null || value === undefined) this.uint32(ABSENT);
    else if (typeof value === 'string') this.string(value);
    else {
      this.room(LENGTH + value.length);
      this.buffer.writeUInt32LE(value.length, this.used);
      this.buffer.set(value, this.used + LENGTH);
      this.used += LENGTH + value.length;
    }
  }

  /** Grows the buffer (a copy) when `bytes` more may not fit. */
  protected room(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + bytes));
    this.buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }
}
