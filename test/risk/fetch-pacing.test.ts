import type { Batch } from 'kafkajs';
import { paceFetch } from '../../src/risk/kafka/batches';

/**
 * A consumer that has caught up waits before its next fetch until RISK_FETCH_LINGER_MS after its
 * last fetch's batches arrived (the events of that moment then come in one fetch); a partition
 * with a backlog is fetched again at once.
 */
describe('fetch pacing', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A batch of offsets first..last of a partition whose next offset to be written is `highWatermark`. */
  const batch = (first: number, last: number, highWatermark: number) =>
    ({ isEmpty: () => last < first, highWatermark: String(highWatermark), lastOffset: () => String(last) }) as unknown as Batch;

  /** Whether the pause is over once `ms` have passed since the batch arrived. */
  const settledAfter = async (paused: Promise<void>, ms: number) => {
    let settled = false;
    void paused.then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(ms);
    return settled;
  };

  it('holds a caught-up partition until the linger has passed since its batch arrived', async () => {
    const arrivedAt = performance.now();
    const paused = paceFetch(batch(0, 9, 10), arrivedAt, 5);
    expect(await settledAfter(paused, 4)).toBe(false);
    expect(await settledAfter(paused, 1)).toBe(true);
  });

  it('counts the time the batch took to process', async () => {
    const arrivedAt = performance.now();
    await jest.advanceTimersByTimeAsync(3);
    expect(await settledAfter(paceFetch(batch(0, 9, 10), arrivedAt, 5), 2)).toBe(true);
    expect(await settledAfter(paceFetch(batch(0, 9, 10), arrivedAt - 10, 5), 0)).toBe(true);
  });

  it('holds an empty fetch too, and nothing with a backlog or no linger', async () => {
    expect(await settledAfter(paceFetch(batch(10, 9, 10), performance.now(), 5), 4)).toBe(false);
    expect(await settledAfter(paceFetch(batch(0, 9, 5_000), performance.now(), 5), 0)).toBe(true);
    expect(await settledAfter(paceFetch(batch(0, 9, 10), performance.now(), 0), 0)).toBe(true);
  });
});
