/** A rewrite cycle covers every state in at most this many checkpoints (bounds the chunks a restore reads). */
const MAX_CYCLE = 60;

/**
 * The rolling rewrite of a partition's states: the keys (in the Map's insertion order, which new
 * keys join at the end) still to be written again in the current cycle, and the offset of the
 * cycle's first chunk. Once the cursor reaches the end, every state has a copy at or after that
 * chunk, and the chunks before it are deleted.
 */
export interface Rewrite {
  cursor: Iterator<string>;
  from: number;
  /** The states a chunk of this cycle holds already (they changed): the cursor passes them without writing them again. */
  written: Set<string>;
}

/** What a checkpoint's chunk is taken from: one partition's keyed states and what changed since its last checkpoint. */
export interface ChunkSource {
  states: ReadonlyMap<string, unknown>;
  changed: ReadonlySet<string>;
  nextOffset: number;
  rewrite?: Rewrite;
}

/**
 * The checkpoint's chunk of state, after RocksDB's incremental checkpoints with compaction
 * spread over time: the states that changed since the last checkpoint, plus as many others
 * again (at least 1/MAX_CYCLE of them), taken in turn, so that every state is written again
 * within a cycle and the chunks before the cycle can go. A state that changed earlier in the
 * cycle has its copy in the cycle already: the cursor passes it (it counts against the quota, so
 * the cycle is no longer) without serialising it again; with customers changing steadily that is
 * about a third of the cursor's states. No checkpoint serialises the whole state at once (a pause
 * of tens of milliseconds per 10,000 customers, which the freshness benchmark showed as its tail).
 * A restore reads the current cycle and the one before it: each holds the state once in rewrites
 * and at most once more in changes, so at most four times it. Every keyed operator of the
 * streaming core takes its chunks this way.
 */
export function stateChunk(source: ChunkSource): { keys: Set<string>; supersedes: number | null } {
  const rewrite = (source.rewrite ??= { cursor: source.states.keys(), from: source.nextOffset, written: new Set() });
  const keys = new Set(source.changed);
  for (const key of source.changed) rewrite.written.add(key);
  let quota = Math.max(source.changed.size, Math.ceil(source.states.size / MAX_CYCLE));
  let supersedes: number | null = null;
  for (; quota > 0; quota--) {
    const next = rewrite.cursor.next();
    if (next.done) {
      supersedes = rewrite.from;
      source.rewrite = undefined;
      break;
    }
    if (!rewrite.written.has(next.value)) keys.add(next.value);
  }
  return { keys, supersedes };
}
