import { setFlagsFromString } from 'node:v8';

/**
 * The gateway's heap, tuned for what it holds: under load a hundred or more requests are in
 * flight at once (each waits for its usage record's write), so at any young-generation collection
 * most of them are alive. V8's allocation-site pretenuring reads that as "these objects live long"
 * and, from then on, allocates those sites' objects straight in the old generation, where they die
 * a moment later and are only reclaimed by full mark-compact collections (every 2-3 s at maximum
 * load, marked concurrently on V8's worker threads). Whether a process falls into it depends on
 * what it saw while warming up, so one gateway process spent 145 µs of CPU per request and the
 * next, started the same way, 180 (BENCHMARKS.md, section 1). Without pretenuring, request
 * objects die young wherever they were allocated. Set at startup, before the first request:
 * the flag is read at each allocation site's next decision.
 */
export function tuneHeapForGateway(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
