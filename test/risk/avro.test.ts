import avro from 'avsc';
import { TRANSACTION_AVRO_SCHEMA } from '../../src/catalog/customer-risk-scores';
import { frame } from '../../src/catalog/registry/wire';
import { AvroTransactionReader, encodeTransactionAvro, type SchemaSource } from '../../src/risk/avro';
import { decodeTransaction, type TransactionEvent } from '../../src/risk/contract';

const event: TransactionEvent = {
  eventId: '0b6f2f5e-6d3a-4c57-9d0e-1a2b3c4d5e6f',
  customerId: 'c-42',
  merchantId: 'm-1',
  mcc: '5411',
  amount: '129.90',
  currency: 'EUR',
  country: 'DE',
  channel: 'CARD_PRESENT',
  deviceId: 'd-phone',
  timestamp: '2026-11-24T10:15:00.000Z',
};

/** A later writer schema: one more field (with a default), which the contract's reader skips. */
const EVOLVED = { ...TRANSACTION_AVRO_SCHEMA, fields: [...TRANSACTION_AVRO_SCHEMA.fields, { name: 'terminal', type: 'string', default: '' }] };
/** A writer schema the contract cannot read: `channel` a plain string, not its enum. */
const UNREADABLE = {
  ...TRANSACTION_AVRO_SCHEMA,
  fields: TRANSACTION_AVRO_SCHEMA.fields.map((field) => (field.name === 'channel' ? { name: 'channel', type: 'int' } : field)),
};

/** An in-memory registry that counts its look-ups. */
function source(schemas: Record<number, unknown>): SchemaSource & { lookups: number[][] } {
  const lookups: number[][] = [];
  return {
    lookups,
    schemasByIds: async (ids) => {
      lookups.push([...ids]);
      return new Map(ids.filter((id) => id in schemas).map((id) => [id, JSON.stringify(schemas[id])]));
    },
  };
}

describe('Avro transactions (Confluent framing)', () => {
  it('decodes an Avro event to exactly what its JSON gives', async () => {
    const reader = new AvroTransactionReader(source({ 7: TRANSACTION_AVRO_SCHEMA }));
    const value = encodeTransactionAvro(7, event);
    expect([...value.subarray(0, 5)]).toEqual([0, 0, 0, 0, 7]);
    await reader.prepare([{ value }]);
    expect(decodeTransaction(value, 'c-42', 4096, reader)).toEqual(decodeTransaction(Buffer.from(JSON.stringify(event)), 'c-42', 4096));
  });

  it('reads a later writer schema through Avro schema resolution', async () => {
    const reader = new AvroTransactionReader(source({ 8: EVOLVED }));
    const value = frame(8, avro.Type.forSchema(EVOLVED as avro.Schema).toBuffer({ ...event, terminal: 't-9' }));
    await reader.prepare([{ value }]);
    expect(decodeTransaction(value, 'c-42', 4096, reader)).toMatchObject({ ok: true, tx: { ...event, time: Date.parse(event.timestamp) } });
  });

  it('sends unknown ids, undecodable bytes and unreadable schemas to the DLQ with their reason', async () => {
    const reader = new AvroTransactionReader(source({ 7: TRANSACTION_AVRO_SCHEMA, 9: UNREADABLE }));
    const unknown = encodeTransactionAvro(4242, event);
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), Buffer.from('not avro at all, just text')]);
    const short = Buffer.from([0, 0, 7]);
    const unreadable = frame(9, avro.Type.forSchema(UNREADABLE as avro.Schema).toBuffer({ ...event, channel: 1 }));
    const messages = [unknown, garbage, short, unreadable].map((value) => ({ value }));
    await reader.prepare(messages);
    expect(decodeTransaction(unknown, 'c-42', 4096, reader)).toEqual({ ok: false, reason: 'UNKNOWN_SCHEMA', detail: 'schema id 4242 is not registered' });
    expect(decodeTransaction(garbage, 'c-42', 4096, reader)).toMatchObject({
      ok: false,
      reason: 'MALFORMED',
      detail: expect.stringMatching(/^not Avro of schema 7: /),
    });
    expect(decodeTransaction(short, 'c-42', 4096, reader)).toMatchObject({
      ok: false,
      reason: 'MALFORMED',
      detail: expect.stringMatching(/shorter than the 5-byte header/),
    });
    expect(decodeTransaction(unreadable, 'c-42', 4096, reader)).toMatchObject({
      ok: false,
      reason: 'SCHEMA_VIOLATION',
      detail: expect.stringMatching(/^schema 9 cannot be read as a transactions event/),
    });
    // Without a registry (no reader), a framed message is refused as such.
    expect(decodeTransaction(encodeTransactionAvro(7, event), 'c-42', 4096)).toMatchObject({
      ok: false,
      reason: 'MALFORMED',
      detail: expect.stringMatching(/Confluent-framed Avro/),
    });
  });

  it('checks a decoded Avro event by the same rules as JSON', async () => {
    const reader = new AvroTransactionReader(source({ 7: TRANSACTION_AVRO_SCHEMA }));
    const badId = encodeTransactionAvro(7, { ...event, eventId: 'not-a-uuid', amount: '-1' });
    await reader.prepare([{ value: badId }]);
    expect(decodeTransaction(badId, 'c-42', 4096, reader)).toEqual({
      ok: false,
      reason: 'SCHEMA_VIOLATION',
      detail: 'eventId: expected a UUID; amount: expected a non-negative decimal string like "129.90"',
    });
    expect(decodeTransaction(encodeTransactionAvro(7, event), 'someone-else', 4096, reader)).toMatchObject({ ok: false, reason: 'KEY_MISMATCH' });
    expect(decodeTransaction(encodeTransactionAvro(7, event), 'c-42', 20, reader)).toMatchObject({ ok: false, reason: 'OVERSIZED' });
  });

  it('looks a schema up once per batch that needs it, and never again once found (ids are immutable)', async () => {
    const registry = source({ 7: TRANSACTION_AVRO_SCHEMA });
    const reader = new AvroTransactionReader(registry);
    const json = { value: Buffer.from(JSON.stringify(event)) };
    await reader.prepare([json, json]);
    expect(registry.lookups).toEqual([]);
    await reader.prepare([
      json,
      { value: encodeTransactionAvro(7, event) },
      { value: encodeTransactionAvro(7, event) },
      { value: encodeTransactionAvro(5, event) },
    ]);
    await reader.prepare([{ value: encodeTransactionAvro(7, event) }, { value: encodeTransactionAvro(5, event) }]);
    // 7 found once; 5 (unknown) asked again in the next batch: it may have been registered since.
    expect(registry.lookups).toEqual([[7, 5], [5]]);
  });
});
