import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap, tuned for the processes that carry the load: the gateway and the risk consumer.
 * Both allocate objects that die young but are often alive at a young-generation collection: a
 * gateway's hundred or more requests in flight (each waits for its usage record's write), a
 * consumer's batches between fetch and sink. V8 reads that as "long-lived" in two ways, and both
 * put short-lived objects in the old generation, reclaimed only by full mark-compacts (marked
 * on V8's worker threads, with a pause to finish):
 * - allocation-site pretenuring: a site whose objects survived is from then on allocated straight
 *   in the old generation. Whether a gateway process fell into it depended on its warm-up: four
 *   started the same way spent 157-203 µs of CPU per request at maximum load, four without it
 *   141-155 (BENCHMARKS.md, section 1);
 * - page promotion: a young page mostly alive at a collection moves to the old generation whole,
 *   with whatever on it dies a moment later. The consumer, holding every customer's state, spent
 *   40.8-41.3 µs per event with both, 37.0-38.0 without pretenuring, 35.3-36.3 without either
 *   (section 3).
 * Set at startup, before the first request or batch: V8 reads both at each decision.
 */
export function tuneHeap(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString('--no-page-promotion');
}
