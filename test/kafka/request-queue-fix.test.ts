import { createRequire } from 'node:module';
import '../../src/kafka/client';

/** kafkajs's request queue, as our Kafka client loads it: no timer with a negative delay (Node 23+ warns about each). */
describe('kafkajs request queue schedule', () => {
  const RequestQueue = createRequire(__filename)('kafkajs/src/network/requestQueue');
  const queue = () =>
    new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 1000,
      enforceRequestTimeout: true,
      clientId: 'test',
      broker: 'b:9092',
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
  const delays = () => {
    const spy = jest.spyOn(global, 'setTimeout');
    return { spy, values: () => spy.mock.calls.map((call) => call[1]) };
  };
  afterEach(() => jest.restoreAllMocks());

  it('sets no timer when nothing is pending and nothing is throttled (kafkajs 2.2.4 set one at -Date.now() ms)', () => {
    const q = queue();
    const { values } = delays();
    q.scheduleCheckPendingRequests();
    expect(values()).toEqual([]);
  });

  it('keeps kafkajs’s own schedule otherwise: pending requests, or a throttle in the future', () => {
    const pending = queue();
    pending.pending.push({});
    const throttled = queue();
    throttled.throttledUntil = Date.now() + 5_000;
    const { values } = delays();
    pending.scheduleCheckPendingRequests();
    throttled.scheduleCheckPendingRequests();
    clearTimeout(pending.throttleCheckTimeoutId);
    clearTimeout(throttled.throttleCheckTimeoutId);
    expect(values()).toHaveLength(2);
    expect(values().every((delay) => (delay ?? 0) > 0)).toBe(true);
  });
});
