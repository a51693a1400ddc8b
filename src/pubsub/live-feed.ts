/**
 * A subscriber's side of a live feed: the values `push` delivers, as the async iterator graphql-ws
 * consumes. A subscriber that falls more than `maxBuffered` values behind loses the oldest (a slow
 * socket must not hold the process's memory); `onFinish` runs once the client ends the feed.
 */
export function liveFeed<T>(maxBuffered: number, onFinish: () => void): { push(value: T): void; iterator: AsyncIterableIterator<T> } {
  const queue: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let done = false;
  const finish = async (): Promise<IteratorResult<T>> => {
    if (!done) onFinish();
    done = true;
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<T> = {
    next: () => {
      if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return: finish,
    throw: async (error: unknown) => {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return {
    push(value) {
      if (done) return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value, done: false });
      } else {
        queue.push(value);
        if (queue.length > maxBuffered) queue.shift();
      }
    },
    iterator,
  };
}
