import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import type { PlanCode } from '../generated/prisma/client';
import type { Logger } from '../ops/logger';
import { processAlive } from '../ops/process-alive';
import { DEFAULT_METER, type InsertedDocument as Shipped, type UsageEntry } from './ledger';
import { BUFFERED_APPENDS, MirroredSegment, syncDirectory, writeAll } from './mirrored-segment';

export interface SpoolOptions {
  /** The spool's root: each process writes in a directory of its own below it. */
  dir: string;
  /** How often closed segments are shipped to the ledger's table (and the current one closed). */
  shipMs: number;
  /** A directory of another host whose owner has shown no sign of life for this long is taken over. */
  staleMs: number;
  /**
   * 0: an append resolves once its bytes are on disk. More: once the operating system has them (a
   * crash of the process loses nothing), and the segment is flushed to disk this often and before
   * it is closed (an operating-system crash or a power loss loses the last interval's records and
   * those of a flush under way), as PostgreSQL's `synchronous_commit = off` with its WAL writer's
   * delay, or Redis's `appendfsync everysec`.
   */
  fsyncMs: number;
  /**
   * With `fsyncMs` > 0 only: a directory in memory (tmpfs, such as /dev/shm) for the current
   * segment (`MirroredSegment`). An append resolves once its bytes are there, which a crash of the
   * process leaves intact; the segment's mirror in `dir` gets them every `fsyncMs`, written and
   * flushed outside any answer's path. Without it, an append waits for `write()` on `dir`'s file
   * system, and a segment's rotation for its flush, which on a busy disk hold answers for
   * milliseconds now and then (BENCHMARKS.md, section 1).
   */
  memoryDir?: string;
  /**
   * Inserts a JSON array of records in the line format below into the ledger's table, idempotently
   * by request id (`insertUsageJson`), and answers how many it held and the range of their times.
   */
  ship(json: string): Promise<Shipped>;
  /** Records shipped long after they were made (a dead process's spool): readers that settle by time catch up. */
  onLate?(from: Date, to: Date): Promise<void>;
}

/** Records older than this when shipped are late for readers that settle by time (rollups). */
const LATE_MS = 30_000;
/** A segment this large is closed at the next tick even while older ones wait (the table is down). */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
const SEGMENT = /^(.+-)?(\d{12})\.ndjson$/;
/**
 * A segment is opened for synchronous data writes (O_DSYNC, PostgreSQL's wal_sync_method =
 * open_datasync): each append returns once its bytes are on disk, the guarantee of a write and an
 * fdatasync in one system call and one trip to the threadpool. Measured on the gateway at maximum
 * load: 10 µs less CPU per request than the two calls (BENCHMARKS.md). Where the platform has no
 * O_DSYNC, each append is followed by an fdatasync.
 */
const SYNCED_APPENDS = constants.O_DSYNC === undefined ? undefined : constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC;

/** One record as a line of a segment: short keys, since every billable request writes one. */
interface Line {
  r: string;
  a: string;
  k: string | null;
  p: PlanCode;
  o: string;
  m: string;
  c: number;
  t: number;
  d: string | null;
}

const toLine = (entry: UsageEntry): Line => ({
  r: entry.requestId,
  a: entry.accountId,
  k: entry.apiKeyId,
  p: entry.planCode,
  o: entry.operation,
  m: entry.meter ?? DEFAULT_METER,
  c: entry.costUnits,
  t: entry.occurredAt.getTime(),
  d: entry.product ?? null,
});

/**
 * The usage ledger's write-ahead log on local disk. A billable answer waits for its record to be
 * appended to this process's current segment and on disk (a synchronous write; with `fsyncMs`,
 * handed to the operating system and flushed on that interval), which costs the process one write
 * per group commit and the database nothing; a timer ships closed segments to
 * the ledger's table in bulk, idempotently by request id, and deletes them. So the database sees
 * one large insert per tick instead of one transaction per handful of requests, and billing
 * survives the database being away (the spool grows meanwhile).
 *
 * A segment's records are visible to readers of the table within about `shipMs`. After a crash
 * (kill -9, power loss) the records stay on disk: the next process that opens the spool on this
 * host takes over the dead process's directory at once and ships it; another host does so once
 * the directory is `staleMs` without a sign of life. A torn last line (an append cut short by the
 * crash) is a record no caller was told was durable, so it is dropped.
 *
 * With `memoryDir`, the current segment lives in memory and its mirror on disk trails it by at most
 * `fsyncMs`; a closed segment is shipped from its mirror once that is whole, or from memory if the
 * mirror failed. After a crash of the process both copies of its current segment are taken over
 * and shipped: the mirror is a prefix of the memory copy, and a record shipped twice is stored once.
 */
export class UsageSpool {
  private readonly own: string;
  /** This process's directory in `memoryDir`, where its current segment is written (unset: in `own`). */
  private readonly ownMemory: string | undefined;
  /** `fsyncMs` > 0: appends reach the operating system only, and a timer flushes them. */
  private readonly flushedOnInterval: boolean;
  private file: FileHandle | undefined;
  /** With `memoryDir`: the current segment, and the closed ones whose mirrors are being completed (shipping waits for them). */
  private mirrored: MirroredSegment | undefined;
  private readonly finishing = new Map<string, Promise<void>>();
  /** The segment appends go to: set before it is opened, so shipping never takes it. */
  private currentName: string | undefined;
  private segment = 0;
  private bytes = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private shipping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Whether the current segment has appends its last flush did not cover (`fsyncMs` > 0). */
  private unflushed = false;
  private flushing: Promise<void> | undefined;
  private pending = 0;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly options: SpoolOptions,
    private readonly logger: Logger,
  ) {
    this.own = join(options.dir, `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
    this.flushedOnInterval = options.fsyncMs > 0;
    if (options.memoryDir && !this.flushedOnInterval)
      throw new Error('usage spool: a memory directory needs fsyncMs above 0 (the mirror is flushed on that interval)');
    this.ownMemory = options.memoryDir ? join(options.memoryDir, basename(this.own)) : undefined;
  }

  /** Opens a directory of this process's own, ships what dead processes left, then ships every `shipMs`. */
  static async open(options: SpoolOptions, logger: Logger): Promise<UsageSpool> {
    const spool = new UsageSpool(options, logger);
    // Account and key ids: for this service's user only.
    for (const dir of spool.directories()) await mkdir(dir, { recursive: true, mode: 0o700 });
    await spool.ship();
    spool.timer = setInterval(() => void spool.ship(), options.shipMs);
    spool.timer.unref();
    if (spool.flushedOnInterval) spool.flushTimer = setInterval(() => void spool.flush(), options.fsyncMs).unref();
    return spool;
  }

  /** Records written to this process's spool and not shipped yet. */
  get unshipped(): number {
    return this.pending;
  }

  /**
   * Resolves once the entries are on disk (with `fsyncMs`: with the operating system; with
   * `memoryDir`: in memory). Appends are serial (one `write` each), so a segment is a sequence of
   * whole lines; an append that failed leaves its segment for a new one, so a torn line can only be
   * a segment's last.
   */
  append(entries: UsageEntry[]): Promise<void> {
    let text = '';
    for (const entry of entries) text += `${JSON.stringify(toLine(entry))}\n`;
    const appended = this.tail.then(async () => {
      try {
        const buffer = Buffer.from(text);
        if (this.ownMemory) (await this.currentMirrored(this.ownMemory)).append(buffer);
        else {
          const file = await this.current();
          await writeAll(file, buffer);
          if (this.flushedOnInterval) this.unflushed = true;
          else if (SYNCED_APPENDS === undefined) await file.datasync();
        }
        this.bytes += buffer.length;
        this.pending += entries.length;
      } catch (error) {
        await this.closeSegment();
        throw error;
      }
    });
    this.tail = appended.catch(() => undefined);
    return appended;
  }

  /** Ships everything, the current segment included, and leaves no directory behind if all went (shutdown). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.timer);
      clearInterval(this.flushTimer);
      await this.shipping;
      await this.tail;
      await this.closeSegment();
      await Promise.all(this.finishing.values());
      await this.ship();
      // Not empty: the table was away; the next process ships it.
      for (const dir of this.directories()) await rmdir(dir).catch(() => undefined);
    })();
    return this.closed;
  }

  /** Where this process's segments are: its directory on disk, and in memory with `memoryDir`. */
  private directories(): string[] {
    return this.ownMemory ? [this.own, this.ownMemory] : [this.own];
  }

  private nextSegment(): string {
    this.currentName = `${String(++this.segment).padStart(12, '0')}.ndjson`;
    this.bytes = 0;
    return this.currentName;
  }

  private async current(): Promise<FileHandle> {
    if (!this.file) {
      this.file = await open(join(this.own, this.nextSegment()), this.flushedOnInterval ? BUFFERED_APPENDS : (SYNCED_APPENDS ?? 'a'), 0o600);
      await syncDirectory(this.own);
    }
    return this.file;
  }

  private async currentMirrored(ownMemory: string): Promise<MirroredSegment> {
    this.mirrored ??= await MirroredSegment.open(ownMemory, this.own, this.nextSegment());
    return this.mirrored;
  }

  private async closeSegment(): Promise<void> {
    if (this.ownMemory) return this.closeMirrored();
    const file = this.file;
    this.currentName = undefined;
    if (!file) return;
    // A flush already under way may have begun before the last appends.
    if (this.flushedOnInterval) while (this.flushing || this.unflushed) await this.flush();
    this.file = undefined;
    await file.close();
  }

  /**
   * Hands the current segment over to be finished beside the appends (which go on in a new one at
   * once): its mirror completed, then the copy not to be shipped deleted. Shipping waits for it.
   */
  private closeMirrored(): void {
    const segment = this.mirrored;
    const name = this.currentName;
    this.mirrored = undefined;
    this.currentName = undefined;
    if (!segment || !name) return;
    const finished = segment
      .finish()
      .catch((error: unknown) => this.logger.error({ err: error }, "usage spool: completing a segment's mirror on disk failed; its copy in memory is shipped"))
      .finally(() => this.finishing.delete(name));
    this.finishing.set(name, finished);
  }

  /**
   * Flushes the current segment's appends to disk (`fsyncMs` > 0), beside the appends rather than
   * in their turn: an answer never waits for it (with `memoryDir`, its mirror gets them first). One
   * flush at a time; a failed one is logged, and the segment is closed so that appends go on in a
   * new one (a segment in memory whose mirror failed is shipped from memory).
   */
  private flush(): Promise<void> {
    this.flushing ??= (async () => {
      if (this.mirrored) return this.mirrored.flush();
      const file = this.file;
      if (!file || !this.unflushed) return;
      this.unflushed = false;
      await file.datasync();
    })()
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'usage spool: flushing a segment to disk failed; appends go on in a new segment');
        this.tail = this.tail.then(() => this.closeSegment()).catch(() => undefined);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** One shipment at a time; a tick that finds one running skips. */
  private ship(): Promise<void> {
    this.shipping ??= this.shipAll()
      .catch((error) => this.logger.warn({ err: error, unshipped: this.pending }, 'usage spool: shipping failed; retrying next tick'))
      .finally(() => {
        this.shipping = undefined;
      });
    return this.shipping;
  }

  private async shipAll(): Promise<void> {
    await utimes(this.own, new Date(), new Date()); // a sign of life for other hosts
    await this.adoptOrphans();
    let closed = await this.closedSegments();
    // The current segment is closed (in turn with appends) only when shipping has caught up, so a
    // table that is away grows one segment instead of one file per tick.
    if ((this.file || this.mirrored) && this.bytes > 0 && (closed.length === 0 || this.bytes >= MAX_SEGMENT_BYTES)) {
      this.tail = this.tail.then(() => this.closeSegment());
      await this.tail;
      await Promise.all(this.finishing.values());
      closed = await this.closedSegments();
    }
    for (const path of closed) await this.shipSegment(path);
  }

  /** Closed segments, oldest first, as paths: on disk, then in memory (adopted, or a mirror that failed). */
  private async closedSegments(): Promise<string[]> {
    const paths: string[] = [];
    for (const dir of this.directories()) {
      const names = (await readdir(dir)).filter((name) => SEGMENT.test(name) && name !== this.currentName && !this.finishing.has(name)).sort();
      paths.push(...names.map((name) => join(dir, name)));
    }
    return paths;
  }

  private async shipSegment(path: string): Promise<void> {
    const name = basename(path);
    const text = await readFile(path, 'utf8');
    // After the last newline: nothing, or a torn append no caller was told was durable.
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    let shipped: Shipped;
    try {
      shipped = await this.shipLines(whole);
      await unlink(path);
    } catch (error) {
      if (!malformed(error)) throw error; // the database is away: next tick
      shipped = await this.shipReadable(path, whole);
    }
    if (!name.includes('-')) this.pending = Math.max(0, this.pending - shipped.records);
    await this.reportLate(shipped);
  }

  /** The whole lines as one JSON array, parsed by the database: a line is already a JSON object. */
  private async shipLines(lines: string): Promise<Shipped> {
    if (!lines) return { records: 0, first: null, last: null };
    return this.options.ship(`[${lines.slice(0, -1).replaceAll('\n', ',')}]`);
  }

  /**
   * A segment the database refused as a whole: its lines go one by one, and the ones that are not
   * JSON or that the database refuses are kept aside in `<segment>.unreadable` for an operator
   * (never retried every tick, never lost). A database that is away still stops the shipment.
   */
  private async shipReadable(path: string, lines: string): Promise<Shipped> {
    const refused: string[] = [];
    const all = lines.split('\n').filter(Boolean);
    let first: number | null = null;
    let last: number | null = null;
    for (const line of all) {
      const one = await this.shipLines(`${line}\n`).catch((error: unknown) => {
        if (malformed(error)) return undefined;
        throw error;
      });
      if (!one?.records) {
        refused.push(line);
        continue;
      }
      if (one.first !== null) first = first === null ? one.first : Math.min(first, one.first);
      if (one.last !== null) last = last === null ? one.last : Math.max(last, one.last);
    }
    if (refused.length) {
      // On disk, whichever copy the lines came from: an operator's to read, after a reboot too.
      const aside = join(this.own, `${basename(path)}.unreadable`);
      await writeFile(aside, refused.map((line) => `${line}\n`).join(''), { mode: 0o600 });
      this.logger.error(
        { segment: aside, refused: refused.length, shipped: all.length - refused.length },
        'usage spool: lines the database refused kept aside',
      );
    }
    await unlink(path);
    return { records: all.length, first, last };
  }

  private async reportLate({ first, last }: Shipped): Promise<void> {
    if (first === null || last === null || first >= Date.now() - LATE_MS) return;
    const to = Math.min(last, Date.now() - LATE_MS);
    this.logger.warn({ from: new Date(first), to: new Date(to) }, 'usage spool: shipped records made long ago (a dead process left them)');
    await this.options.onLate?.(new Date(first), new Date(to + 1));
  }

  /** Moves the segments of dead processes' directories into this one's, on disk and in memory. */
  private async adoptOrphans(): Promise<void> {
    await this.adoptFrom(this.options.dir, this.own);
    if (this.options.memoryDir && this.ownMemory) await this.adoptFrom(this.options.memoryDir, this.ownMemory);
  }

  /** Each rename is atomic: two adopters never both take a file. */
  private async adoptFrom(root: string, into: string): Promise<void> {
    for (const dir of await readdir(root)) {
      const path = join(root, dir);
      if (path === into || !(await this.isOrphan(dir, path))) continue;
      const names = await readdir(path).catch(() => [] as string[]);
      for (const name of names.filter((name) => SEGMENT.test(name))) {
        await rename(join(path, name), join(into, `${dir}-${name}`)).catch(() => undefined);
      }
      if (names.length) this.logger.info({ from: dir, segments: names.length }, 'usage spool: took over the segments of a process that is gone');
      await rmdir(path).catch(() => undefined);
    }
  }

  private async isOrphan(dir: string, path: string): Promise<boolean> {
    const owner = /^(.+)-(\d+)-[0-9a-f]{8}$/.exec(dir);
    if (!owner) return false;
    if (owner[1] === hostname()) return Number(owner[2]) === process.pid || !processAlive(Number(owner[2]));
    const seen = await stat(path).catch(() => undefined);
    return seen !== undefined && Date.now() - seen.mtimeMs > this.options.staleMs;
  }
}

/** The database refused the document's data (SQLSTATE class 22 or 23), not the connection. */
function malformed(error: unknown): boolean {
  return /^2[23]/.test(String((error as { code?: unknown }).code ?? ''));
}
