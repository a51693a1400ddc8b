import { toTransaction } from '../../src/risk/contract';
import { MAX_RETAINED_EVENTS, RETAIN_MS } from '../../src/risk/model/parameters';
import { assess, bandOf, duplicateStatus, extractFeatures, scoreFeatures, type Features } from '../../src/risk/model/score';
import { newCustomerState, type CustomerState } from '../../src/risk/model/types';
import { sampleTransaction, workedExample } from './support';

const eventId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const tx = sampleTransaction;

describe('the risk model (docs/risk-model.md)', () => {
  it('scores the worked example exactly as computed by hand in the doc', () => {
    const rows = workedExample();
    expect(rows).toHaveLength(17);
    const state = newCustomerState();
    for (const row of rows) {
      const transaction = toTransaction(row.event);
      if (row.duplicateOf) {
        const before = JSON.stringify(state);
        expect(duplicateStatus(state, transaction.eventId, transaction.time)).toBe('duplicate');
        expect(JSON.stringify(state)).toBe(before);
        continue;
      }
      expect({ row: row.n, status: duplicateStatus(state, transaction.eventId, transaction.time) }).toEqual({ row: row.n, status: 'new' });
      const result = assess(state, transaction);
      expect({ row: row.n, score: result.score, band: result.band, factors: result.factors.map((f) => [f.code, f.contribution]) }).toEqual({
        row: row.n,
        score: row.score,
        band: row.band,
        factors: row.factors,
      });
      if (row.n === 16) expect(result).toMatchObject({ late: true, newest: false });
      else expect(result).toMatchObject({ late: false, newest: true });
    }
    // The state the doc describes after the example.
    expect(state.n).toBe(16);
    expect(state.e).toEqual([4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map(eventId));
    expect(state.floor).toBe(Date.parse('2026-11-24T10:40:00.000Z'));
    expect(state.c).toEqual(['BR', 'DE']);
    expect(state.lc).toBe('BR');
  });

  it('explains each factor in words', () => {
    const state = newCustomerState();
    for (const [i, amount] of ['40.00', '60.00', '50.00', '45.00', '55.00'].entries()) {
      assess(state, tx({ eventId: eventId(i + 1), amount, timestamp: `2026-11-24T1${i}:00:00.000Z` }));
    }
    const spike = assess(state, tx({ eventId: eventId(9), amount: '450.00', channel: 'ATM', country: 'BR', timestamp: '2026-11-24T14:10:00.000Z' }));
    expect(spike.factors).toEqual([
      { code: 'IMPOSSIBLE_TRAVEL', contribution: 300, detail: 'DE to BR (9174 km) in 10.0 min' },
      { code: 'AMOUNT_ANOMALY', contribution: 250, detail: "450.00 EUR is 50.6 standard deviations above this customer's mean of 50.00 EUR" },
      { code: 'NEW_COUNTRY', contribution: 100, detail: 'first transaction in BR' },
    ]);
    expect(spike.score).toBe(650);
  });

  it('lists the factors largest first, equal ones by code, however many fired', () => {
    const quiet: Features = {
      count1m: 1,
      amount1m: 10,
      count1h: 1,
      amount1h: 10,
      smallCount10m: 0,
      history: 10,
      mean: 10,
      sd: 1,
      z: 0,
      newMerchant: false,
      newCountry: false,
      newDevice: false,
      impossibleTravel: null,
      late: false,
      newest: true,
    };
    const codes = (features: Partial<Features>) =>
      scoreFeatures({ ...quiet, ...features }, tx({ channel: 'ECOMMERCE', timestamp: '2026-12-06T10:00:00.000Z' })).factors.map((f) => [
        f.code,
        f.contribution,
      ]);
    expect(codes({})).toEqual([]);
    expect(codes({ newMerchant: true })).toEqual([['NEW_MERCHANT', 30]]);
    // Built merchant, country, device: NEW_COUNTRY and NEW_DEVICE tie at 100 and go by code.
    expect(codes({ newMerchant: true, newCountry: true, newDevice: true })).toEqual([
      ['NEW_COUNTRY', 100],
      ['NEW_DEVICE', 100],
      ['NEW_MERCHANT', 30],
    ]);
    expect(codes({ newMerchant: true, newDevice: true, impossibleTravel: { from: 'DE', to: 'BR', km: 9174, minutes: 10 } })).toEqual([
      ['IMPOSSIBLE_TRAVEL', 300],
      ['NEW_DEVICE', 100],
      ['NEW_MERCHANT', 30],
    ]);
  });

  it('caps the score at 1000 and bands it', () => {
    expect([0, 249, 250, 499, 500, 749, 750, 1000].map(bandOf)).toEqual(['LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'CRITICAL', 'CRITICAL']);
    const state = newCustomerState();
    assess(state, tx({ eventId: eventId(1), timestamp: '2026-11-24T10:00:00.000Z' }));
    let last = assess(state, tx({ eventId: eventId(2), timestamp: '2026-11-24T10:00:00.100Z' }));
    for (let i = 3; i < 40; i++) {
      last = assess(
        state,
        tx({
          eventId: eventId(i),
          merchantId: `m-${i}`,
          mcc: '7995',
          amount: '1.00',
          channel: 'ECOMMERCE',
          country: i % 2 ? 'FR' : 'IT',
          deviceId: `d-${i}`,
          timestamp: `2026-11-24T10:00:${String(i).padStart(2, '0')}.000Z`,
        }),
      );
    }
    // Cash from an ATM in Brazil 40 s after paying in a German shop, at a gambling merchant, mid card-testing.
    last = assess(
      state,
      tx({
        eventId: eventId(40),
        merchantId: 'm-40',
        mcc: '7995',
        amount: '1.00',
        channel: 'ATM',
        country: 'BR',
        deviceId: 'atm-1',
        timestamp: '2026-11-24T10:00:40.000Z',
      }),
    );
    const sum = last.factors.reduce((total, factor) => total + factor.contribution, 0);
    expect(sum).toBeGreaterThan(1000);
    expect(last).toMatchObject({ score: 1000, band: 'CRITICAL' });
  });

  it('converts amounts to EUR at the fixed reference rates (unknown currencies at face value)', () => {
    expect(tx({ amount: '100.00', currency: 'USD', timestamp: '2026-11-24T10:00:00Z' }).amountEur).toBeCloseTo(92, 10);
    expect(tx({ amount: '100.00', currency: 'GBP', timestamp: '2026-11-24T10:00:00Z' }).amountEur).toBeCloseTo(117, 10);
    expect(tx({ amount: '100.00', currency: 'XAF', timestamp: '2026-11-24T10:00:00Z' }).amountEur).toBe(100);
    // 4 USD is small (3.68 EUR); 6 GBP is not (7.02 EUR).
    const state = newCustomerState();
    const small = (n: number, amount: string, currency: string) =>
      assess(
        state,
        tx({ eventId: eventId(n), amount, currency, merchantId: 'm-9', channel: 'ECOMMERCE', deviceId: 'd-1', timestamp: `2026-11-24T10:0${n}:00.000Z` }),
      );
    small(1, '4.00', 'USD');
    small(2, '4.00', 'USD');
    expect(small(3, '4.00', 'USD').factors.map((f) => f.code)).toContain('CARD_TESTING');
    expect(small(4, '6.00', 'GBP').factors.map((f) => f.code)).not.toContain('CARD_TESTING');
  });

  it('counts a transaction at the window edge only inside the half-open window', () => {
    const state = newCustomerState();
    for (let i = 0; i < 4; i++) assess(state, tx({ eventId: eventId(i + 1), timestamp: `2026-11-24T10:00:${String(i * 10).padStart(2, '0')}.000Z` }));
    // Events at :00, :10, :20, :30. At 10:01:00 the last minute is (10:00:00, 10:01:00]: :00 is out.
    const features = extractFeatures(state, tx({ eventId: eventId(9), timestamp: '2026-11-24T10:01:00.000Z' }));
    expect(features.count1m).toBe(4);
    expect(extractFeatures(state, tx({ eventId: eventId(9), timestamp: '2026-11-24T10:00:59.999Z' })).count1m).toBe(5);
  });

  it('keeps windows complete for events up to 5 s out of order, and places them in time order', () => {
    const state = newCustomerState();
    assess(state, tx({ eventId: eventId(1), timestamp: '2026-11-24T10:00:00.000Z' }));
    assess(state, tx({ eventId: eventId(2), timestamp: '2026-11-24T11:00:04.000Z' }));
    // 5 s behind the newest: not late, and its last hour, (09:59:59, 10:59:59], still finds 10:00:00.
    const behind = tx({ eventId: eventId(3), timestamp: '2026-11-24T10:59:59.000Z' });
    expect(extractFeatures(state, behind)).toMatchObject({ count1h: 2, late: false, newest: false });
    assess(state, behind);
    expect(state.t).toEqual(['10:00:00', '10:59:59', '11:00:04'].map((time) => Date.parse(`2026-11-24T${time}.000Z`)));
    // One more millisecond behind and it is late (still counted).
    expect(extractFeatures(state, tx({ eventId: eventId(4), timestamp: '2026-11-24T10:59:58.999Z' })).late).toBe(true);
  });

  it('forgets what no window reaches, and sends older copies to the history check', () => {
    const state = newCustomerState();
    const t0 = Date.parse('2026-11-24T10:00:00.000Z');
    assess(state, tx({ eventId: eventId(1), timestamp: new Date(t0).toISOString() }));
    assess(state, tx({ eventId: eventId(2), timestamp: new Date(t0 + RETAIN_MS + 1).toISOString() }));
    expect(state.t).toEqual([t0 + RETAIN_MS + 1]);
    expect(state.floor).toBe(t0);
    expect(duplicateStatus(state, eventId(1), t0)).toBe('unknown');
    expect(duplicateStatus(state, eventId(7), t0 - 1)).toBe('unknown');
    expect(duplicateStatus(state, eventId(2), t0 + RETAIN_MS + 1)).toBe('duplicate');
    expect(duplicateStatus(state, eventId(3), t0 + 1)).toBe('new');
  });

  it('bounds the retained events per customer', () => {
    const state = newCustomerState();
    const t0 = Date.parse('2026-11-24T10:00:00.000Z');
    for (let i = 0; i < MAX_RETAINED_EVENTS + 20; i++) assess(state, tx({ eventId: `e-${i}`, timestamp: new Date(t0 + i).toISOString() }));
    expect(state.t).toHaveLength(MAX_RETAINED_EVENTS);
    expect(state.floor).toBe(t0 + 19);
    expect(duplicateStatus(state, 'e-19', t0 + 19)).toBe('unknown');
    expect(duplicateStatus(state, 'e-20', t0 + 20)).toBe('duplicate');
  });

  it('continues bit for bit from a state that went through JSON (as it does through Postgres)', () => {
    const events = Array.from({ length: 60 }, (_, i) =>
      tx({
        eventId: eventId(i + 1),
        amount: (3.17 * ((i * 7919) % 113) + 0.01).toFixed(2),
        currency: i % 3 ? 'EUR' : 'USD',
        merchantId: `m-${i % 9}`,
        channel: (['CARD_PRESENT', 'ECOMMERCE', 'ATM', 'TRANSFER'] as const)[i % 4],
        country: i % 11 ? 'DE' : 'FR',
        deviceId: `d-${i % 5}`,
        timestamp: new Date(Date.parse('2026-11-24T10:00:00Z') + i * 37_000 - (i % 6) * 1000).toISOString(),
      }),
    );
    const straight = newCustomerState();
    const expected = events.map((event) => assess(straight, event));
    let restored: CustomerState = newCustomerState();
    const actual = events.map((event) => {
      const result = assess(restored, event);
      restored = JSON.parse(JSON.stringify(restored));
      return result;
    });
    expect(actual).toEqual(expected);
    expect(restored).toEqual(straight);
  });
});
