/**
 * Bytes kept outside V8's heap until they are written: a snapshot's serialised states, a history
 * round's COPY rows. A snapshot lives from the batch that took it until its sinks and its write
 * are done (hundreds of milliseconds), so its states' JSON held as strings outlived every
 * young-generation collection meanwhile: on the freshness benchmark each scavenge copied 4.1 MB
 * of them (pauses of 10-20 ms every 400 ms).
 * Written into buffers at once, each string dies young and the scavenger never copies the bytes.
 * The buffers are reused: allocating them anew for every chunk made V8 count megabytes of external
 * memory a second and collect more often (7 % fewer events/s on the ingestion benchmark).
 */
/** One of the buffers, with a view for binary writes and how much of it is written. */
export interface OffHeapPiece {
  buffer: Buffer;
  view: DataView;
  used: number;
}

export class OffHeapBytes {
  private readonly pieces: OffHeapPiece[] = [];
  /** Texts and records written so far. */
  count = 0;

  /** `separator`: a byte written between two texts or records (null: none). */
  constructor(private readonly separator: number | null) {}

  append(text: string): void {
    // UTF-16 code units → UTF-8 bytes: at most 3 each, so the text always fits where it starts.
    const piece = this.record(text.length * 3);
    piece.used += piece.buffer.write(text, piece.used);
  }

  /**
   * Room for a record of at most `bytes` bytes in one buffer, after the separator: the caller
   * writes it from `piece.used` on and sets `piece.used` to where it ends (no callback made per
   * record).
   */
  record(bytes: number): OffHeapPiece {
    const needed = bytes + 1;
    let last = this.pieces[this.pieces.length - 1];
    if (!last || last.buffer.length - last.used < needed) {
      last = takeBuffer(needed);
      this.pieces.push(last);
    }
    if (this.separator !== null && this.count > 0) last.buffer[last.used++] = this.separator;
    this.count++;
    return last;
  }

  /** The bytes written so far, in order: views on the buffers, valid until `release`. */
  bytes(): Buffer[] {
    return this.pieces.map(({ buffer, used }) => buffer.subarray(0, used));
  }

  /** The buffers go back to be reused. */
  release(): void {
    for (const { buffer, view } of this.pieces.splice(0)) giveBack(buffer, view);
  }

  /** The texts as one JSON array (with COMMA as the separator); the buffers go back to be reused. */
  toJsonArray(): string {
    // A piece never ends inside a character: each text is written whole into one buffer.
    const json = `[${this.pieces.map(({ buffer, used }) => buffer.toString('utf8', 0, used)).join('')}]`;
    this.release();
    return json;
  }

  /** Everything written, after `head`, as one Buffer of its own; the buffers go back to be reused. */
  toBuffer(head: Buffer): Buffer {
    const whole = Buffer.concat([head, ...this.bytes()]);
    this.release();
    return whole;
  }
}

const CHUNK_BYTES = 256 * 1024;
export const COMMA = 0x2c;
/**
 * Buffers kept for the next snapshots and history rounds: 32 MB at most, about what a second of
 * checkpoints and the rounds in flight hold under a backlog.
 */
const spare: Array<{ buffer: Buffer; view: DataView }> = [];
const MAX_SPARE = 128;

function takeBuffer(atLeast: number): OffHeapPiece {
  const kept = atLeast <= CHUNK_BYTES ? spare.pop() : undefined;
  const buffer = kept?.buffer ?? Buffer.allocUnsafeSlow(Math.max(atLeast, CHUNK_BYTES));
  return { buffer, view: kept?.view ?? new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength), used: 0 };
}

function giveBack(buffer: Buffer, view: DataView): void {
  if (buffer.length === CHUNK_BYTES && spare.length < MAX_SPARE) spare.push({ buffer, view });
}
