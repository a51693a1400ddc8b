import { TransactionFeed } from '../../src/feed/generator';
import { toTransaction } from '../../src/risk/contract';
import { assess } from '../../src/risk/model/score';
import { newCustomerState, type Band, type CustomerState } from '../../src/risk/model/types';

/** The demo's first seconds, through the real model: every band shows up at once. */
describe('the synthetic feed’s showcase', () => {
  it.each([1, 7, 2026])('ends with one customer MEDIUM, one HIGH and one CRITICAL within 8 s of event time (seed %i)', (seed) => {
    const start = Date.UTC(2026, 11, 1, 12);
    const feed = new TransactionFeed({ seed, profileSeed: 1, customers: 5000, rate: 10, start });
    feed.showcase(8_000);
    const states = new Map<string, CustomerState>();
    const latest = new Map<string, Band>();
    while (feed.now < start + 9_000) {
      const { event } = feed.next();
      if (!event) continue;
      const state = states.get(event.customerId) ?? newCustomerState();
      states.set(event.customerId, state);
      latest.set(event.customerId, assess(state, toTransaction(event)).band);
    }
    expect(Object.fromEntries(['c-0', 'c-1', 'c-2'].map((id) => [id, latest.get(id)]))).toEqual({ 'c-0': 'MEDIUM', 'c-1': 'HIGH', 'c-2': 'CRITICAL' });
  });
});
