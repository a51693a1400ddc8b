import { randomInt } from 'node:crypto';

/** mulberry32: a small seeded PRNG (uniform in [0, 1)), so a shuffled or randomly failing test reproduces. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed for this run: TEST_SEED when set (to replay a failure), else a new one. Put it in the test
 * name (and in what a failing expectation prints) so a failure says how to reproduce it:
 * `TEST_SEED=<seed> npx jest <file> -t '<name>'`.
 */
export function testSeed(): number {
  const fixed = process.env.TEST_SEED;
  return fixed !== undefined && fixed !== '' ? Number(fixed) >>> 0 : randomInt(2 ** 32);
}

/** A Fisher–Yates shuffle (a copy) driven by `random`. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
