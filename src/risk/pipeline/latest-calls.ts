import type { Redis } from 'ioredis';
import { LENGTH, PackedBytes } from '../../ops/packed-bytes';
import { encodeView, LATEST_TIME_DIGITS, latestKey, rankingKey, writeLatestTime, type RiskScoreView } from '../view';

/**
 * One call of latest scores: its groups' claim keys (latestClaimKey in src/risk/view.ts), and the
 * groups themselves packed into bytes (LatestPayload). A group is a batch of one partition (or a
 * part of one): its customers' newest scores, written only while the partition's claim holds the
 * writer's token. Bytes travel to a thread of their own (LatestThread) as one copy, where the
 * scores' strings and the commands' argument lists would be thousands of objects living on the
 * consumer's heap until Redis answered.
 */
export interface LatestCall {
  claims: string[];
  payload: Uint8Array;
}

/** Runs calls of latest scores; each answers 1 per group written, 0 per group refused (a fenced writer). */
export interface LatestCalls {
  /** Reads every call's payload before it returns: its buffers may then be reused. */
  run(calls: LatestCall[]): Promise<number[][]>;
}

/**
 * The groups of one call, packed as they are added: per group the writer's token, the offset now
 * written up to ('' for all but a batch's last part) and its number of customers (a uint32); per
 * customer its id, encodeLatest(view) and its risk score (a double). A call of at most 500
 * customers (about 480 bytes each) fits the buffer without growing.
 */
export class LatestPayload extends PackedBytes {
  group(token: string, written: string, customers: number): void {
    this.string(token);
    this.string(written);
    this.uint32(customers);
  }

  customer(view: RiskScoreView): void {
    this.string(view.customerId);
    const json = encodeView(view);
    this.room(LENGTH + LATEST_TIME_DIGITS + json.length * 3 + 8);
    const start = this.used + LENGTH;
    let at = writeLatestTime(view, this.buffer, start);
    at += this.buffer.write(json, at);
    this.buffer.writeUInt32LE(at - start, this.used);
    this.used = this.buffer.writeDoubleLE(view.score, at);
  }
}

/** One group of a call, read back from its payload. */
interface Group {
  claim: string;
  ranking: string;
  token: string;
  written: string;
  /** Latest-score key, encoded score, in turn. */
  values: string[];
  /** Risk score, customer id, in turn (ZADD's order). */
  ranks: Array<string | number>;
}

function unpack({ claims, payload }: LatestCall, prefix: string): Group[] {
  const ranking = rankingKey(prefix);
  const keyPrefix = latestKey(prefix, '');
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  const string = () => {
    const end = at + LENGTH + bytes.readUInt32LE(at);
    const text = bytes.toString('utf8', at + LENGTH, end);
    at = end;
    return text;
  };
  return claims.map((claim) => {
    const token = string();
    const written = string();
    const customers = bytes.readUInt32LE(at);
    at += LENGTH;
    const values: string[] = [];
    const ranks: Array<string | number> = [];
    for (let i = 0; i < customers; i++) {
      const customerId = string();
      values.push(keyPrefix + customerId, string());
      ranks.push(bytes.readDoubleLE(at), customerId);
      at += 8;
    }
    return { claim, ranking, token, written, values, ranks };
  });
}

/** A transaction takes the calls waiting when it starts, up to about this many customers: its MSET and ZADD hold Redis (and the gateways reading it) for their length, 3-5 ms here. */
const TRANSACTION_CUSTOMERS = 1_000;
/** A transaction whose claims keep changing under it is tried again this many times, then fails like a Redis error. */
const ATTEMPTS = 5;

interface Waiting {
  groups: Group[][];
  resolve: (results: number[][]) => void;
  reject: (error: unknown) => void;
}

/**
 * The latest scores as Redis transactions under WATCH of their partitions' claims: MULTI / MSET /
 * ZADD / HSET written / EXEC with the groups whose claim held the writer's token when it was read,
 * and in the same round trip, after EXEC, WATCH of the claims again and their tokens read for the
 * next transaction. A claim taken over after that read fails the next EXEC (it is then tried
 * again with the tokens read behind it); one taken over before it is seen in the tokens, and its
 * groups are refused. So a fenced writer never writes, as with a script, while Redis parses each
 * score once: a script's arguments became Lua strings and then Redis strings again (Redis CPU per
 * customer, 300k writes of 480 bytes: 4.2-5.7 µs by the script, 2.3-3.3 by MSET and ZADD). A
 * transaction waits for the tokens the last one read (WATCH belongs to the connection): one round
 * trip each, one at a time on a connection, and the calls that wait meanwhile go in the next one.
 * Only a claim not read yet (a partition just assigned) or a new connection costs a round trip more.
 * The order of a partition's writes (one connection, its transactions in turn, MSET keeping a key's
 * last value), not a comparison per key, keeps each customer's newest score (see RiskPipeline): a
 * customer belongs to one partition.
 */
class LatestTransactions {
  private readonly waiting: Waiting[] = [];
  private running = false;
  /** Counts the connection's closes: tokens read on a connection since closed are not watched on the next one. */
  private connection = 0;
  /** The claims watched whose token, read right after their WATCH on connection `readOn`, is the writer's. */
  private watched = new Map<string, string>();
  private readOn = -1;

  constructor(private readonly redis: Redis) {
    redis.on('close', () => this.connection++);
  }

  run(calls: LatestCall[], prefix: string): Promise<number[][]> {
    const groups = calls.map((call) => unpack(call, prefix));
    return new Promise((resolve, reject) => {
      this.waiting.push({ groups, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length) {
      let customers = 0;
      let taken = 0;
      while (taken < this.waiting.length && (taken === 0 || customers < TRANSACTION_CUSTOMERS)) {
        for (const groups of this.waiting[taken].groups) for (const group of groups) customers += group.values.length / 2;
        taken++;
      }
      const batch = this.waiting.splice(0, taken);
      try {
        const written = await this.write(batch.flatMap((waiting) => waiting.groups.flat()));
        let g = 0;
        for (const waiting of batch) waiting.resolve(waiting.groups.map((groups) => groups.map(() => written[g++])));
      } catch (error) {
        // What is watched now is unknown: the next transaction reads its claims first.
        this.readOn = -1;
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.running = false;
  }

  /** 1 per group written, 0 per group whose claim is no longer its writer's. */
  private async write(groups: Group[]): Promise<number[]> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (this.readOn !== this.connection || groups.some((group) => this.watched.get(group.claim) !== group.token)) await this.send([], groups);
      const written = groups.map((group) => (this.watched.get(group.claim) === group.token ? 1 : 0));
      const live = groups.filter((_, g) => written[g]);
      if (!live.some((group) => group.values.length || group.written)) return written;
      const transaction: Command[] = [['multi']];
      const values = live.flatMap((group) => group.values);
      if (values.length) transaction.push(['mset', ...values]);
      for (const ranking of new Set(live.map((group) => group.ranking))) {
        const ranks = live.flatMap((group) => (group.ranking === ranking ? group.ranks : []));
        if (ranks.length) transaction.push(['zadd', ranking, ...ranks]);
      }
      for (const group of live) if (group.written) transaction.push(['hset', group.claim, 'written', group.written]);
      transaction.push(['exec']);
      const [error, done] = (await this.send(transaction, groups)).at(-1)!;
      if (error) throw error;
      // null: a watched claim changed after its token was read (taken over): again, with the tokens read since.
      if (done === null) continue;
      const failed = (done as unknown[]).find((answer) => answer instanceof Error);
      if (failed) throw failed;
      return written;
    }
    throw new Error(`the latest scores' claims changed under ${ATTEMPTS} transactions in a row`);
  }

  /**
   * Sends `commands` and, after them, WATCH of the claims this writer holds (as last read) and of
   * `groups`' claims, with a read of their tokens: a claim stays watched while its token is the
   * writer's (a partition taken over stops being watched, so another owner's writes to its claim
   * do not fail this writer's transactions). Answers the commands' own answers.
   */
  private async send(commands: Command[], groups: Group[]): Promise<Array<[Error | null, unknown]>> {
    // Per claim, the tokens it is written under (a batch from before this writer claimed it again carries an older one).
    const wanted = new Map([...this.watched].map(([claim, token]) => [claim, new Set([token])]));
    for (const group of groups) wanted.get(group.claim)?.add(group.token) ?? wanted.set(group.claim, new Set([group.token]));
    const claims = [...wanted.keys()];
    const connection = this.connection;
    const results = await this.redis.pipeline([...commands, ['watch', ...claims], ...claims.map((claim) => ['hget', claim, 'token'])]).exec();
    if (!results) throw new Error('the Redis pipeline was aborted');
    const [, ...tokens] = answers(results.slice(commands.length));
    this.watched = new Map(claims.flatMap((claim, i) => (wanted.get(claim)!.has(tokens[i] as string) ? [[claim, tokens[i] as string]] : [])));
    this.readOn = connection;
    return results.slice(0, commands.length);
  }
}

type Command = Array<string | number>;

/** A pipeline's answers, or its first error. */
function answers(results: Array<[Error | null, unknown]>): unknown[] {
  return results.map(([error, answer]) => {
    if (error) throw error;
    return answer;
  });
}

/** One transaction queue per connection (WATCH belongs to the connection), whoever asks for latest-score calls on it. */
const onConnection = new WeakMap<Redis, LatestTransactions>();

/**
 * The latest-score calls on a Redis client (the embedded feed's, the tests', and the latest-score
 * thread's own). Nothing else on the connection may WATCH or MULTI (nothing in Tollgraph does).
 */
export function latestCallsOn(redis: Redis, prefix: string): LatestCalls {
  let transactions = onConnection.get(redis);
  if (!transactions) onConnection.set(redis, (transactions = new LatestTransactions(redis)));
  const queue = transactions;
  return { run: (calls) => queue.run(calls, prefix) };
}
