import type { Redis } from 'ioredis';
import { encodeView, latestKey, latestTimePrefix, rankingKey, SET_LATEST, type RiskScoreView } from '../view';

/**
 * One SET_LATEST call (src/risk/view.ts): its groups' claim keys, and the groups themselves
 * packed into bytes (LatestPayload). Bytes travel to a thread of their own (LatestThread) as one
 * copy, where the scores' strings and the script's argument list would be thousands of objects
 * living on the consumer's heap until Redis answered.
 */
export interface LatestCall {
  claims: string[];
  payload: Uint8Array;
}

/** Runs SET_LATEST calls; each answers 1 per group written, 0 per group refused (a fenced writer). */
export interface LatestCalls {
  /** Reads every call's payload before it returns: its buffers may then be reused. */
  run(calls: LatestCall[]): Promise<number[][]>;
}

/** Bytes of a packed string's length. */
const LENGTH = 4;
/** The time prefix of an encoded latest score (latestTimePrefix): ASCII digits. */
const TIME_PREFIX = 13;
/** A call's payload of at most 500 customers fits (about 480 bytes each). */
const BUFFER_BYTES = 512 * 1024;
/** Buffers of payloads already read, for the next ones: a new one per call made V8 count external memory and collect more often. */
const spare: Buffer[] = [];
const MAX_SPARE = 8;

/**
 * The groups of one call, packed as they are added: per group the writer's token, the offset now
 * written up to ('' for all but a batch's last part) and its number of customers (a uint32); per
 * customer its id, encodeLatest(view) and its risk score (a double). Strings are UTF-8 after their
 * byte length (a uint32), numbers little-endian.
 */
export class LatestPayload {
  private buffer = spare.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private used = 0;

  group(token: string, written: string, customers: number): void {
    this.string(token);
    this.string(written);
    this.room(LENGTH);
    this.used = this.buffer.writeUInt32LE(customers, this.used);
  }

  customer(view: RiskScoreView): void {
    this.string(view.customerId);
    const json = encodeView(view);
    this.room(LENGTH + TIME_PREFIX + json.length * 3 + 8);
    const start = this.used + LENGTH;
    let at = start + this.buffer.write(latestTimePrefix(view), start, 'latin1');
    at += this.buffer.write(json, at);
    this.buffer.writeUInt32LE(at - start, this.used);
    this.used = this.buffer.writeDoubleLE(view.score, at);
  }

  get bytes(): Buffer {
    return this.buffer.subarray(0, this.used);
  }

  /** Once the payload has been read: its buffer goes back to be reused. */
  release(): void {
    if (this.buffer.length === BUFFER_BYTES && spare.length < MAX_SPARE) spare.push(this.buffer);
  }

  private string(text: string): void {
    this.room(LENGTH + text.length * 3);
    const written = this.buffer.write(text, this.used + LENGTH);
    this.buffer.writeUInt32LE(written, this.used);
    this.used += LENGTH + written;
  }

  /** Grows the buffer (a copy) when `bytes` more may not fit. */
  private room(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + bytes));
    this.buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }
}

/** A call's payload as SET_LATEST's keys (after the ranking) and arguments. */
function unpack({ claims, payload }: LatestCall, keyPrefix: string): { keys: string[]; args: Array<string | number> } {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const keys: string[] = [];
  const args: Array<string | number> = [claims.length];
  let at = 0;
  const string = () => {
    const end = at + LENGTH + bytes.readUInt32LE(at);
    const text = bytes.toString('utf8', at + LENGTH, end);
    at = end;
    return text;
  };
  for (const claim of claims) {
    const token = string();
    const written = string();
    const customers = bytes.readUInt32LE(at);
    at += LENGTH;
    keys.push(claim);
    args.push(token, written, customers);
    const ranks: Array<string | number> = [];
    for (let i = 0; i < customers; i++) {
      const customerId = string();
      keys.push(keyPrefix + customerId);
      args.push(string());
      ranks.push(bytes.readDoubleLE(at), customerId);
      at += 8;
    }
    for (const rank of ranks) args.push(rank);
  }
  return { keys, args };
}

/**
 * SET_LATEST calls on this thread's Redis client (the embedded feed's, the tests', and the
 * latest-score thread's own), sent by EVALSHA so the script's text does not travel with every call.
 */
export function latestCallsOn(redis: Redis, prefix: string): LatestCalls {
  redis.defineCommand('tollgraphSetLatest', { lua: SET_LATEST });
  const setLatest = (redis as unknown as { tollgraphSetLatest: (...args: Array<string | number>) => Promise<number[]> }).tollgraphSetLatest.bind(redis);
  const ranking = rankingKey(prefix);
  const keyPrefix = latestKey(prefix, '');
  return {
    run: (calls) =>
      Promise.all(
        calls.map((call) => {
          const { keys, args } = unpack(call, keyPrefix);
          return setLatest(keys.length + 1, ranking, ...keys, ...args);
        }),
      ),
  };
}
