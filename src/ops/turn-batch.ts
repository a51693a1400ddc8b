/**
 * Calls made in one turn of the event loop, sent together at its end: the partitions of one Kafka
 * fetch are scored in the same turn, and each would otherwise make its own Redis call (at a few
 * events a partition per fetch, a call every two events); the root fields of a GraphQL request
 * (and of the requests that arrived with it) resolve in the same turn, and each would otherwise
 * make its own query. `send` gets the turn's items in the order they were added and answers each;
 * if it fails, every call of the turn fails.
 */
export class TurnBatch<T, R> {
  private pending: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];

  constructor(private readonly send: (items: T[]) => Promise<R[]>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const calls = this.pending;
    this.pending = [];
    this.send(calls.map((call) => call.item)).then(
      (results) => {
        calls.forEach((call, i) => {
          call.resolve(results[i]);
        });
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error);
      },
    );
  }
}
