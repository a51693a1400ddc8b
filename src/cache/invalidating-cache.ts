import type { PubSub } from '../pubsub/pubsub';

const EVERYTHING = '*';

/**
 * An in-process read-through cache whose entries every gateway process drops within
 * milliseconds of a change: writers call `invalidate`, which is broadcast on `channel`.
 * Entries also expire after `ttlMs`, which bounds staleness should a broadcast be lost.
 */
export class InvalidatingCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAt: number }>();

  private constructor(
    private readonly pubsub: PubSub,
    private readonly channel: string,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  static async create<V>(pubsub: PubSub, channel: string, { ttlMs = 30_000, maxEntries = 100_000 } = {}): Promise<InvalidatingCache<V>> {
    const cache = new InvalidatingCache<V>(pubsub, channel, ttlMs, maxEntries);
    await pubsub.subscribe(channel, (key) => cache.drop(key));
    pubsub.onReconnect(() => cache.drop(EVERYTHING));
    return cache;
  }

  /** The cached value, or `load()`'s; a failed load is not cached. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    const value = load();
    const entry = { value, expiresAt: now + this.ttlMs };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Drops `key` (or everything, without a key) here and on every other process. */
  async invalidate(key: string = EVERYTHING): Promise<void> {
    this.drop(key);
    await this.pubsub.publish(this.channel, key);
  }

  /** Drops `key` in this process only (e.g. a value that must not be kept). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  private drop(key: string): void {
    if (key === EVERYTHING) this.entries.clear();
    else this.entries.delete(key);
  }
}
