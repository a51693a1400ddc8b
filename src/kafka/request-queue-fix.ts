import { createRequire } from 'node:module';

interface QueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
}
interface RequestQueueClass {
  prototype: { scheduleCheckPendingRequests(this: QueueState): void };
}

/**
 * kafkajs 2.2.4 (unmaintained: tulios/kafkajs#1603) schedules its pending-request check with a
 * negative delay whenever a broker's queue is empty and nothing is throttled (`throttledUntil` is
 * -1). Node runs such a timer after 1 ms (Node 23+ also warns: TimeoutNegativeWarning), finds
 * nothing to send, and the check schedules itself again: once a queue has drained, a 1 ms timer
 * loop runs for as long as the connection lives. That one case is skipped; every other schedule
 * is kafkajs's own.
 */
export function fixRequestQueueSchedule(): void {
  const RequestQueue = createRequire(__filename)('kafkajs/src/network/requestQueue') as RequestQueueClass;
  const schedule = RequestQueue.prototype.scheduleCheckPendingRequests;
  if ((schedule as { fixed?: boolean }).fixed) return;
  const fixed = function (this: QueueState) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  RequestQueue.prototype.scheduleCheckPendingRequests = Object.assign(fixed, { fixed: true });
}
