import type { Sql } from '../../db/sql';
import type { StateCodec } from './state-codec';
import { loadPartition, readCheckpoint, type CheckpointedPartition } from './store';

/** What every partition a keyed operator holds in memory carries, whatever its states are. */
export interface HeldPartition<S> extends CheckpointedPartition<S> {
  /** The offset after the last batch sent to the sinks. */
  nextOffset: number;
  states: Map<string, S>;
  /** The consumer's fetch position was checked against the checkpoint. */
  positioned: boolean;
  /** After a rebalance: re-read the checkpoint before trusting the in-memory state. */
  verify: boolean;
  /** When this process last wrote or read the checkpoint (`checkpointOffset`). */
  checkpointedAt: number;
  /** Keys whose state changed since that checkpoint. */
  changed: Set<string>;
}

export interface PartitionedOperatorOptions {
  sql: Sql;
  groupId: string;
  owner: string;
  /** Where a partition new to the group starts (default 0: the beginning of the log). */
  initialOffset?: (topic: string, partition: number) => Promise<number>;
  checkpointIntervalMs: number;
  checkpointEvents: number;
}

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;

function topicPartitionOf(key: string): [string, number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/**
 * What the risk scorer and every keyed stream operator share, as Kafka Streams' tasks do: the
 * partitions one consumer holds in memory, loaded from the checkpoint on first use, re-checked
 * against it after a rebalance, forgotten when another consumer takes them, and checkpointed when
 * idle. A subclass loads a partition, runs its batches and writes its checkpoints.
 */
export abstract class PartitionedOperator<S, P extends HeldPartition<S>> {
  private readonly held = new Map<string, P>();
  /** Partitions with a batch under way: an idle checkpoint leaves them to their batch. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly partitioning: PartitionedOperatorOptions,
    /** How the partitions' states are written into checkpoints and read back. */
    protected readonly codec: StateCodec<S>,
  ) {}

  /** The partition as this operator holds it, from what its checkpoint restored (`restore`). */
  protected abstract loadPartition(topic: string, partition: number): Promise<P>;

  /** Takes the partition's checkpoint now and writes it in the background; resolves when written. */
  protected abstract checkpoint(topic: string, partition: number, ps: P): Promise<void>;

  get groupId(): string {
    return this.partitioning.groupId;
  }

  /** After a rebalance: every partition re-checks its checkpoint before its next batch. */
  invalidate(): void {
    for (const partition of this.held.values()) partition.verify = true;
  }

  /** Forgets partitions this consumer no longer owns. */
  retain(owned: (topic: string, partition: number) => boolean): void {
    for (const key of [...this.held.keys()]) if (!owned(...topicPartitionOf(key))) this.held.delete(key);
  }

  /** The partition's next offset as this process knows it (undefined if not loaded). */
  position(topic: string, partition: number): number | undefined {
    return this.held.get(keyOf(topic, partition))?.nextOffset;
  }

  /** States of a loaded partition (tests and diagnostics). */
  statesOf(topic: string, partition: number): ReadonlyMap<string, S> | undefined {
    return this.held.get(keyOf(topic, partition))?.states;
  }

  /** Loads the partition now (so a consumer can seek before its first batch). */
  async load(topic: string, partition: number): Promise<number> {
    return (await this.partition(topic, partition)).nextOffset;
  }

  /**
   * The partition as held, or as `loadPartition` reads it from its checkpoint: when not held yet,
   * or when a rebalance came and the checkpoint moved since this process last wrote it (another
   * consumer owned the partition meanwhile).
   */
  protected async partition(topic: string, partition: number): Promise<P> {
    const key = keyOf(topic, partition);
    const known = this.held.get(key);
    if (known?.verify) {
      // Still ours if nobody moved the checkpoint since we last wrote it.
      const stored = await readCheckpoint(this.partitioning.sql, this.partitioning.groupId, topic, partition);
      if (stored !== undefined && Number(stored) === known.checkpointOffset) {
        known.verify = false;
        return known;
      }
    } else if (known) return known;
    const loaded = await this.loadPartition(topic, partition);
    this.held.set(key, loaded);
    return loaded;
  }

  /** The partition's states and the offset after them, as its last checkpoint left them. */
  protected async restore(topic: string, partition: number): Promise<HeldPartition<S>> {
    const { sql, groupId, owner, initialOffset } = this.partitioning;
    const initial = initialOffset ? await initialOffset(topic, partition) : 0;
    const snapshot = await loadPartition<S>(sql, groupId, topic, partition, BigInt(initial), owner, this.codec);
    const offset = Number(snapshot.nextOffset);
    return {
      nextOffset: offset,
      states: snapshot.states,
      positioned: false,
      verify: false,
      checkpointOffset: offset,
      checkpointedAt: Date.now(),
      changed: new Set(),
    };
  }

  /** Drops the partition's in-memory state (its next batch goes back to the checkpoint); what was held, if anything. */
  protected forget(topic: string, partition: number): P | undefined {
    const key = keyOf(topic, partition);
    const known = this.held.get(key);
    this.held.delete(key);
    return known;
  }

  /** Runs a batch of the partition; meanwhile an idle checkpoint leaves the partition alone. */
  protected async batch<R>(topic: string, partition: number, run: () => Promise<R>): Promise<R> {
    const key = keyOf(topic, partition);
    this.busy.add(key);
    try {
      return await run();
    } finally {
      this.busy.delete(key);
    }
  }

  /** Its checkpoint is due: the interval has passed, or as many events as a checkpoint may cover. */
  protected due(ps: P, now: number): boolean {
    const { checkpointIntervalMs, checkpointEvents } = this.partitioning;
    return now - ps.checkpointedAt >= checkpointIntervalMs || ps.nextOffset - ps.checkpointOffset >= checkpointEvents;
  }

  /**
   * Checkpoints the partitions with progress not checkpointed yet and no batch under way: those
   * whose checkpoint is due (a partition that stopped receiving events), or all of them (`force`,
   * when the consumer stops); resolves when those checkpoints are written.
   */
  async checkpointIdle(force = false): Promise<void> {
    const now = Date.now();
    const writing: Array<Promise<void> | undefined> = [];
    for (const [key, ps] of this.held) {
      if (this.busy.has(key) || ps.lost) continue;
      const progress = ps.nextOffset !== ps.checkpointOffset || ps.changed.size > 0;
      if (!ps.checkpointing && progress && (force || this.due(ps, now))) void this.checkpoint(...topicPartitionOf(key), ps);
      writing.push(ps.checkpointing);
    }
    await Promise.all(writing);
  }
}
