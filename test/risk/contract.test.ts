import { TransactionFeed } from '../../src/feed/generator';
import { decodeTransaction, toTransaction, transactionEventSchema } from '../../src/risk/contract';

const valid = {
  eventId: '6f1c2a9e-3b4d-4c5e-8f60-718293a4b5c6',
  customerId: 'c-123',
  merchantId: 'm-9',
  mcc: '5999',
  amount: '129.90',
  currency: 'EUR',
  country: 'DE',
  channel: 'ECOMMERCE',
  deviceId: 'd-77',
  timestamp: '2026-11-24T10:15:00.000Z',
};
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('the transactions event contract (docs/contract.md)', () => {
  it('accepts the documented example and reads its amount and time', () => {
    const decoded = decodeTransaction(bytes(valid), 'c-123', 4096);
    expect(decoded).toEqual({ ok: true, tx: { ...valid, time: Date.parse(valid.timestamp), amountEur: 129.9 } });
    expect(decodeTransaction(bytes({ ...valid, timestamp: '2026-11-24T11:15:00+01:00' }), Buffer.from('c-123'), 4096)).toMatchObject({
      ok: true,
      tx: { time: Date.parse(valid.timestamp) },
    });
  });

  it.each([
    ['truncated JSON', '{"eventId": "6f1c', 'MALFORMED', /not JSON/],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'MALFORMED', /not UTF-8/],
    ['empty', '', 'MALFORMED', /empty/],
    ['oversized', { ...valid, merchantId: 'm'.repeat(5000) }, 'OVERSIZED', /bytes; at most 4096/],
    ['a negative amount', { ...valid, amount: '-5.00' }, 'SCHEMA_VIOLATION', /^amount: expected a non-negative decimal/],
    ['a numeric amount', { ...valid, amount: 129.9 }, 'SCHEMA_VIOLATION', /^amount:/],
    ['too many integer digits for the history', { ...valid, amount: '123456789012345' }, 'SCHEMA_VIOLATION', /^amount:/],
    ['an unknown channel', { ...valid, channel: 'MAIL_ORDER' }, 'SCHEMA_VIOLATION', /^channel:/],
    ['a missing timestamp', { ...valid, timestamp: undefined }, 'SCHEMA_VIOLATION', /^timestamp:/],
    ['a time without offset', { ...valid, timestamp: '2026-11-24T10:15:00' }, 'SCHEMA_VIOLATION', /^timestamp:/],
    ['an impossible date', { ...valid, timestamp: '2026-02-30T10:15:00Z' }, 'SCHEMA_VIOLATION', /^timestamp:/],
    ['a time out of range', { ...valid, timestamp: '1999-12-31T23:59:59Z' }, 'SCHEMA_VIOLATION', /years 2000-2099/],
    ['an eventId that is not a UUID', { ...valid, eventId: 'e-1' }, 'SCHEMA_VIOLATION', /^eventId: expected a UUID/],
    ['an unknown property', { ...valid, note: 'hi' }, 'SCHEMA_VIOLATION', /note/],
    ['a lower-case country', { ...valid, country: 'de' }, 'SCHEMA_VIOLATION', /^country:/],
    ['a JSON array', [valid], 'SCHEMA_VIOLATION', /\(event\)/],
  ])('refuses %s', (_what, value, reason, detail) => {
    const decoded = decodeTransaction(Buffer.isBuffer(value) ? value : bytes(value), 'c-123', 4096);
    expect(decoded).toEqual({ ok: false, reason, detail: expect.stringMatching(detail) });
  });

  it('refuses a message whose key is not its customerId (its state would live in the wrong partition)', () => {
    expect(decodeTransaction(bytes(valid), 'c-999', 4096)).toEqual({ ok: false, reason: 'KEY_MISMATCH', detail: 'message key "c-999" is not the customerId' });
    expect(decodeTransaction(bytes(valid), null, 4096)).toMatchObject({ ok: false, reason: 'KEY_MISMATCH' });
  });
});

describe('the synthetic feed', () => {
  const options = {
    seed: 42,
    customers: 50,
    rate: 100,
    start: Date.parse('2026-11-24T10:00:00Z'),
    invalid: 0.02,
    duplicates: 0.02,
    cardTesting: 0.02,
    takeover: 0.01,
    spike: 0.02,
  };

  it('is the same, byte for byte, for the same seed', () => {
    const take = (feed: TransactionFeed) => Array.from({ length: 2000 }, () => feed.next()).map((m) => `${m.key} ${m.value.toString('base64')}`);
    expect(take(new TransactionFeed(options))).toEqual(take(new TransactionFeed(options)));
    expect(take(new TransactionFeed({ ...options, seed: 43 }))).not.toEqual(take(new TransactionFeed(options)));
  });

  it('produces valid events except the injected broken ones, and every kind of scenario', () => {
    const feed = new TransactionFeed(options);
    for (let i = 0; i < 5000; i++) {
      const message = feed.next();
      const decoded = decodeTransaction(message.value, message.key, 4096);
      expect({ kind: message.kind, ok: decoded.ok }).toEqual({ kind: message.kind, ok: message.kind !== 'invalid' });
    }
    for (const kind of ['normal', 'card-testing', 'takeover', 'spike', 'duplicate', 'invalid'] as const) expect(feed.counts[kind]).toBeGreaterThan(0);
  });
});

describe('the fast path of the contract check', () => {
  // decodeTransaction accepts a plainly valid event without running zod; it must never accept
  // what the schema refuses, and must read accepted events exactly as the schema's output would.
  const viaSchema = (value: unknown, key: string) => {
    const result = transactionEventSchema.safeParse(value);
    return result.success && result.data.customerId === key ? { ok: true, tx: toTransaction(result.data) } : { ok: false };
  };

  it('agrees with the schema on every feed event, broken ones included', () => {
    const feed = new TransactionFeed({ seed: 5, customers: 500, rate: 100, start: Date.parse('2026-11-24T10:00:00Z'), invalid: 0.2 });
    for (let i = 0; i < 3_000; i++) {
      const { key, value } = feed.next();
      let parsed: unknown;
      try {
        parsed = JSON.parse(value.toString());
      } catch {
        continue;
      }
      const decoded = decodeTransaction(value, key, 4096);
      expect(decoded.ok ? { ok: true, tx: decoded.tx } : { ok: false }).toEqual(viaSchema(parsed, key));
    }
  });

  it.each([
    [
      'an extra property in place of a missing one',
      (() => {
        const { deviceId: _d, ...rest } = valid;
        return { ...rest, device: 'd-77' };
      })(),
    ],
    ['a __proto__ property', JSON.parse(`{${JSON.stringify(valid).slice(1, -1)},"__proto__":{"x":1}}`)],
    ['a leap day of a non-leap year', { ...valid, timestamp: '2026-02-29T10:00:00Z' }],
    ['an offset hour of 24', { ...valid, timestamp: '2026-11-24T10:15:00+24:00' }],
    ['an empty id', { ...valid, merchantId: '' }],
    ['a 129-character id', { ...valid, deviceId: 'd'.repeat(129) }],
    ['a number for a string', { ...valid, mcc: 5999 }],
    ['null', null],
  ])('refuses %s as the schema does', (_what, value) => {
    expect(decodeTransaction(bytes(value), 'c-123', 4096).ok).toBe(false);
    expect(viaSchema(value, 'c-123').ok).toBe(false);
  });
});
