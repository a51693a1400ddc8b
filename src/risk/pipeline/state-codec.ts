import type { CustomerState } from '../model/types';
import { COMMA, OffHeapBytes } from './off-heap';

/** A checkpoint's chunk of states as stored: JSON text, or bytes in a codec's own layout. */
export type StoredChunk = string | Uint8Array;

/**
 * How a keyed operator's states go into a checkpoint's chunk and come back from it, as Flink's
 * type serialisers. A chunk is built a state at a time into off-heap buffers (see StateSnapshot),
 * then stored whole.
 */
export interface StateCodec<S> {
  /** A chunk under construction. */
  start(): OffHeapBytes;
  append(chunk: OffHeapBytes, key: string, state: S): void;
  /** The chunk as stored (null: no state in it); its buffers go back to be reused. */
  finish(chunk: OffHeapBytes): StoredChunk | null;
  /** Every [key, state] pair of a stored chunk, in order. */
  read(chunk: StoredChunk): Iterable<[string, S]>;
}

/** States as JSON: a chunk is a JSON array of [key, state] pairs (any JSON-safe state). */
export function jsonStates<S>(): StateCodec<S> {
  return {
    start: () => new OffHeapBytes(COMMA),
    append: (chunk, key, state) => chunk.append(JSON.stringify([key, state])),
    finish: (chunk) => (chunk.count ? chunk.toJsonArray() : null),
    read: (stored) => readJson<S>(stored),
  };
}

function readJson<S>(stored: StoredChunk): Array<[string, S]> {
  if (typeof stored !== 'string') throw new Error('a binary state chunk where JSON was expected');
  return JSON.parse(stored) as Array<[string, S]>;
}

/** The first byte of a binary chunk of customer states: the layout below. */
const CUSTOMER_STATES_V1 = 1;
const HEAD = Buffer.from([CUSTOMER_STATES_V1]);
/** Bytes of the fixed part of a state: n, mean, m2, last, floor and lt as doubles. */
const FIXED = 6 * 8;

/**
 * The risk model's customer states in a binary layout: every number as its 8 bytes (a double
 * needs no formatting to text and back, and comes back bit for bit), every string as its UTF-8
 * length and bytes. After the version byte, per state: the key, n, mean, m2, last, floor, lt,
 * then t and a (a count, then doubles), e, m, c and d (a count, then strings), and lc; counts and
 * lengths as 32-bit unsigned integers, little-endian. Serialising a probe's states (about four
 * events each) took half as long as JSON.stringify (BENCHMARKS.md, What was optimised), the checkpoint's
 * largest cost. Chunks stored as JSON before it are still read.
 */
export const customerStates: StateCodec<CustomerState> = {
  start: () => new OffHeapBytes(null),
  append(chunk, key, s) {
    const room =
      FIXED + 6 * 4 + stringRoom(key) + stringRoom(s.lc) + 8 * (s.t.length + s.a.length) + listRoom(s.e) + listRoom(s.m) + listRoom(s.c) + listRoom(s.d);
    const piece = chunk.record(room);
    const { buffer, view } = piece;
    let at = writeString(buffer, view, piece.used, key);
    view.setFloat64(at, s.n, true);
    view.setFloat64(at + 8, s.mean, true);
    view.setFloat64(at + 16, s.m2, true);
    view.setFloat64(at + 24, s.last, true);
    view.setFloat64(at + 32, s.floor, true);
    view.setFloat64(at + 40, s.lt, true);
    at = writeNumbers(view, at + FIXED, s.t);
    at = writeNumbers(view, at, s.a);
    at = writeStrings(buffer, view, at, s.e);
    at = writeStrings(buffer, view, at, s.m);
    at = writeStrings(buffer, view, at, s.c);
    at = writeStrings(buffer, view, at, s.d);
    piece.used = writeString(buffer, view, at, s.lc);
  },
  finish: (chunk) => (chunk.count ? chunk.toBuffer(HEAD) : null),
  read: (stored) => (typeof stored === 'string' ? readJson<CustomerState>(stored) : readCustomerStates(stored)),
};

/** At most 3 UTF-8 bytes per UTF-16 code unit, and the length before them. */
const stringRoom = (text: string) => 4 + 3 * text.length;

function listRoom(list: string[]): number {
  let room = 0;
  for (const text of list) room += stringRoom(text);
  return room;
}

function writeString(buffer: Buffer, view: DataView, at: number, text: string): number {
  const bytes = buffer.write(text, at + 4);
  view.setUint32(at, bytes, true);
  return at + 4 + bytes;
}

function writeStrings(buffer: Buffer, view: DataView, at: number, list: string[]): number {
  view.setUint32(at, list.length, true);
  at += 4;
  for (const text of list) at = writeString(buffer, view, at, text);
  return at;
}

function writeNumbers(view: DataView, at: number, list: number[]): number {
  view.setUint32(at, list.length, true);
  at += 4;
  for (const value of list) {
    view.setFloat64(at, value, true);
    at += 8;
  }
  return at;
}

function readCustomerStates(stored: Uint8Array): Array<[string, CustomerState]> {
  const buffer = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  if (buffer[0] !== CUSTOMER_STATES_V1)
    throw new Error(`state chunk in layout ${buffer[0]}, which this version does not know (${CUSTOMER_STATES_V1} expected)`);
  let at = 1;
  const string = () => {
    const bytes = view.getUint32(at, true);
    at += 4;
    const text = buffer.toString('utf8', at, at + bytes);
    at += bytes;
    return text;
  };
  const strings = () => {
    const list: string[] = [];
    const count = view.getUint32(at, true);
    at += 4;
    for (let i = 0; i < count; i++) list.push(string());
    return list;
  };
  const numbers = () => {
    const list: number[] = [];
    const count = view.getUint32(at, true);
    at += 4;
    for (let i = 0; i < count; i++, at += 8) list.push(view.getFloat64(at, true));
    return list;
  };
  const pairs: Array<[string, CustomerState]> = [];
  while (at < buffer.length) {
    const key = string();
    const fixed = at;
    at += FIXED;
    const t = numbers();
    const a = numbers();
    const e = strings();
    const m = strings();
    const c = strings();
    const d = strings();
    pairs.push([
      key,
      {
        n: view.getFloat64(fixed, true),
        mean: view.getFloat64(fixed + 8, true),
        m2: view.getFloat64(fixed + 16, true),
        last: view.getFloat64(fixed + 24, true),
        floor: view.getFloat64(fixed + 32, true),
        t,
        a,
        e,
        m,
        c,
        d,
        lc: string(),
        lt: view.getFloat64(fixed + 40, true),
      },
    ]);
  }
  return pairs;
}
