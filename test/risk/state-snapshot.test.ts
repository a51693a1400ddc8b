import { newCustomerState, type CustomerState } from '../../src/risk/model/types';
import { encodeStates, StateSnapshot } from '../../src/risk/pipeline/store';

/**
 * The snapshot serialises states outside V8's heap, a buffer at a time: what it hands the
 * checkpoint must be `encodeStates` of the same states, byte for byte, whatever the text and
 * wherever a buffer ends.
 */
describe('StateSnapshot', () => {
  function statesOf(ids: string[], events: number): Map<string, CustomerState> {
    const states = new Map<string, CustomerState>();
    ids.forEach((id, i) => {
      const state = newCustomerState();
      for (let n = 0; n < events; n++) {
        state.t.push(1_700_000_000_000 + n * 1_000 + i);
        state.a.push(12.34 + n);
        state.e.push(`evt-${id}-${n}`);
      }
      state.m.push(`merchant ${id}`);
      state.c.push('DE');
      state.n = events;
      state.mean = 17.5 + i / 7;
      states.set(id, state);
    });
    return states;
  }

  it('is encodeStates of the same states across many buffers, with text of every width', async () => {
    // Customer ids of 1-, 2-, 3- and 4-byte UTF-8 characters (a surrogate pair) and states of
    // about 1 KB: 3,000 of them fill several of the snapshot's 256 KB buffers.
    const ids = Array.from({ length: 3_000 }, (_, i) => `${['c', 'é', '€', '😀'][i % 4]}-${i}`);
    const states = statesOf(ids, 20);
    const chunk = await new StateSnapshot(new Set(ids), states).serialise();
    const expected = encodeStates(ids, states);
    expect(expected.length).toBeGreaterThan(2 * 256 * 1024);
    expect(chunk).toBe(expected);
    expect(JSON.parse(chunk!)).toHaveLength(3_000);
  });

  it('keeps a state as it was when the snapshot was taken, and has nothing to write for no state', async () => {
    const states = statesOf(['a', 'b'], 2);
    const before = encodeStates(['a', 'b'], states);
    const snapshot = new StateSnapshot(new Set(['a', 'b']), states);
    snapshot.beforeChange('b');
    states.get('b')!.n = 99;
    snapshot.beforeChange('b'); // a second change of the same state keeps the first copy
    states.get('b')!.mean = -1;
    const chunk = await snapshot.serialise();
    const restored = new Map(JSON.parse(chunk!) as Array<[string, CustomerState]>);
    expect(new Map(JSON.parse(before) as Array<[string, CustomerState]>)).toEqual(restored);
    expect(await new StateSnapshot(new Set(), states).serialise()).toBeNull();
  });
});
