import { stateChunk, type ChunkSource } from '../../src/risk/pipeline/rewrite';

/**
 * The rolling rewrite behind every checkpoint's chunk: the changed states plus as many others
 * again, in turn, so each cycle holds every state; a state that changed earlier in the cycle is
 * not written again by the cursor.
 */
describe('rolling rewrite of checkpointed states', () => {
  const customers = Array.from({ length: 10 }, (_, i) => `c-${i}`);

  /** Takes a chunk per entry of `changes` (the customers changed since the previous one). */
  const chunks = (changes: string[][]) => {
    const source: ChunkSource = { states: new Map(customers.map((id) => [id, {}])), changed: new Set(), nextOffset: 0 };
    return changes.map((changed, n) => {
      source.changed = new Set(changed);
      source.nextOffset = n + 1;
      const { keys, supersedes } = stateChunk(source);
      return { offset: n + 1, keys: [...keys], supersedes };
    });
  };

  it('passes over a state that changed earlier in the cycle, and still ends the cycle as soon', async () => {
    const taken = chunks([['c-5'], ['c-7'], [], [], [], [], [], [], [], [], []]);
    expect(taken.map((chunk) => chunk.keys)).toEqual([
      ['c-5', 'c-0'],
      ['c-7', 'c-1'],
      ['c-2'],
      ['c-3'],
      ['c-4'],
      // c-5 changed in the first chunk of the cycle: nothing to write for it.
      [],
      ['c-6'],
      [],
      ['c-8'],
      ['c-9'],
      [],
    ]);
    // The cursor passed the last state at the 10th chunk, as it would writing every state again:
    // the chunks before the first of the cycle go.
    expect(taken.map((chunk) => chunk.supersedes)).toEqual([null, null, null, null, null, null, null, null, null, null, 1]);
    // Every state has a copy in the cycle's chunks.
    expect(new Set(taken.slice(0, 10).flatMap((chunk) => chunk.keys))).toEqual(new Set(customers));
  });

  it('writes a state that changed again after its copy in the cycle, as every changed state', async () => {
    const taken = chunks([['c-1'], ['c-1'], ['c-1']]);
    expect(taken.map((chunk) => chunk.keys)).toEqual([['c-1', 'c-0'], ['c-1'], ['c-1', 'c-2']]);
  });
});
