import { newCustomerState, type CustomerState } from '../../src/risk/model/types';
import { customerStates, jsonStates } from '../../src/risk/pipeline/state-codec';
import { StateSnapshot } from '../../src/risk/pipeline/store';

/**
 * The snapshot serialises states outside V8's heap, a buffer at a time, with its operator's codec:
 * what it hands the checkpoint must give back the same states, whatever the text and wherever a
 * buffer ends; JSON chunks are JSON.stringify of the [key, state] pairs, byte for byte.
 */
describe('StateSnapshot', () => {
  function statesOf(ids: string[], events: number): Map<string, CustomerState> {
    const states = new Map<string, CustomerState>();
    ids.forEach((id, i) => {
      const state = newCustomerState();
      for (let n = 0; n < events; n++) {
        state.t.push(1_700_000_000_000 + n * 1_000 + i);
        state.a.push(12.34 + n / 3);
        state.e.push(`evt-${id}-${n}`);
      }
      state.m.push(`merchant ${id}`, 'm-2');
      state.c.push('DE');
      state.d.push(`device ${id}`);
      state.n = events;
      state.mean = 17.5 + i / 7;
      state.m2 = Math.PI * i;
      state.last = 1_700_000_000_000 + i;
      state.lc = i % 2 ? 'DE' : '';
      states.set(id, state);
    });
    return states;
  }

  // Customer ids of 1-, 2-, 3- and 4-byte UTF-8 characters (a surrogate pair) and states of
  // about 1 KB: 3,000 of them fill several of the snapshot's 256 KB buffers.
  const ids = Array.from({ length: 3_000 }, (_, i) => `${['c', 'é', '€', '😀'][i % 4]}-${i}`);

  it('writes JSON chunks as JSON.stringify of the pairs across many buffers, with text of every width', async () => {
    const states = statesOf(ids, 20);
    const chunk = await new StateSnapshot(new Set(ids), states, jsonStates<CustomerState>()).serialise();
    const expected = JSON.stringify(ids.map((id) => [id, states.get(id)]));
    expect(expected.length).toBeGreaterThan(2 * 256 * 1024);
    expect(chunk).toBe(expected);
  });

  it('writes customer states in their binary layout and reads them back exactly, across many buffers', async () => {
    const states = statesOf(ids, 20);
    // Doubles that text would have to round: each comes back bit for bit.
    Object.assign(states.get(ids[1])!, { mean: 0.1 + 0.2, m2: 5e-324, floor: -0, lt: Number.MAX_VALUE });
    const chunk = await new StateSnapshot(new Set(ids), states, customerStates).serialise();
    expect(chunk).toBeInstanceOf(Buffer);
    expect((chunk as Buffer).length).toBeGreaterThan(2 * 256 * 1024);
    const read = new Map(customerStates.read(chunk!));
    expect([...read.keys()]).toEqual(ids);
    expect(read).toEqual(states);
    expect(Object.is(read.get(ids[1])!.floor, -0)).toBe(true);
    // Smaller than the same states as JSON.
    expect((chunk as Buffer).length).toBeLessThan(JSON.stringify([...states]).length);
  });

  it('reads the JSON chunks written before the binary layout, and refuses a layout it does not know', () => {
    const states = statesOf(['a', 'b'], 3);
    expect(new Map(customerStates.read(JSON.stringify([...states])))).toEqual(states);
    expect(() => [...customerStates.read(Buffer.from([9, 0, 0]))]).toThrow(/layout 9/);
  });

  it.each([
    ['binary', customerStates],
    ['JSON', jsonStates<CustomerState>()],
  ])('keeps a state as it was when the snapshot was taken, and has nothing to write for no state (%s)', async (_, codec) => {
    const states = statesOf(['a', 'b'], 2);
    const before = structuredClone(states);
    const snapshot = new StateSnapshot(new Set(['a', 'b']), states, codec);
    snapshot.beforeChange('b');
    states.get('b')!.n = 99;
    snapshot.beforeChange('b'); // a second change of the same state keeps the first copy
    states.get('b')!.mean = -1;
    states.get('b')!.e.push('later');
    const chunk = await snapshot.serialise();
    expect(new Map(codec.read(chunk!))).toEqual(before);
    expect(await new StateSnapshot(new Set(), states, codec).serialise()).toBeNull();
  });
});
