import { constants, writeSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Appends that reach the operating system only (flushed by whoever needs them on disk). */
export const BUFFERED_APPENDS = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND;

export async function writeAll(file: FileHandle, buffer: Buffer): Promise<void> {
  let written = 0;
  while (written < buffer.length) written += (await file.write(buffer, written)).bytesWritten;
}

/** A new file's directory entry survives a power loss too, not only its data. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  await dir.sync().finally(() => dir.close());
}

/**
 * A usage spool segment written in memory (tmpfs) and mirrored to disk outside the appends'
 * path, as a write-behind log: an append waits for the copy in memory only, which outlives a crash
 * of the process. `flush` gives the mirror what it has yet to get and flushes it to disk (creating
 * it, and syncing its directory, the first time); `finish`, after the last append, completes the
 * mirror, closes both and deletes the copy that is not to be shipped: the memory copy once the
 * mirror is whole, else the mirror. Nothing here runs in an append's turn but its write to memory,
 * so an answer never waits for the disk, not even when a segment is closed.
 */
export class MirroredSegment {
  private mirror: FileHandle | undefined;
  private queue: Buffer[] = [];
  private flushing: Promise<void> | undefined;
  /** A write or flush of the mirror failed: it is not whole, so the memory copy is the one shipped. */
  private broken = false;

  private constructor(
    private readonly memory: FileHandle,
    private readonly memoryPath: string,
    private readonly diskDir: string,
    private readonly diskPath: string,
  ) {}

  static async open(memoryDir: string, diskDir: string, name: string): Promise<MirroredSegment> {
    const memoryPath = join(memoryDir, name);
    return new MirroredSegment(await open(memoryPath, BUFFERED_APPENDS, 0o600), memoryPath, diskDir, join(diskDir, name));
  }

  /**
   * Synchronous: a write to memory is a copy that never waits for a disk, cheaper than a trip to
   * the threadpool (which, for appends of a record or two, cost the gateway more CPU per request
   * than the write itself).
   */
  append(buffer: Buffer): void {
    let written = 0;
    while (written < buffer.length) written += writeSync(this.memory.fd, buffer, written);
    this.queue.push(buffer);
  }

  /** One flush at a time; it goes on until the mirror has every append made meanwhile. A failure breaks the mirror for good. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      while (this.queue.length > 0 && !this.broken) {
        if (!this.mirror) {
          this.mirror = await open(this.diskPath, BUFFERED_APPENDS, 0o600);
          await syncDirectory(this.diskDir);
        }
        const appends = this.queue.splice(0);
        await writeAll(this.mirror, appends.length === 1 ? appends[0] : Buffer.concat(appends));
        await this.mirror.datasync();
      }
    })()
      .catch((error: unknown) => {
        this.broken = true;
        throw error;
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** After the last append. Rejects with the mirror's failure, once the memory copy is left to be shipped. */
  async finish(): Promise<void> {
    const failed = await this.flush().then(
      () => undefined,
      (error: unknown) => error ?? new Error('the mirror failed'),
    );
    await this.mirror?.close().catch(() => undefined);
    await this.memory.close();
    await unlink(this.broken ? this.diskPath : this.memoryPath).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error; // a mirror never created
    });
    if (failed) throw failed;
  }
}
