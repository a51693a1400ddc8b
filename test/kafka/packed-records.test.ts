import { packRecords, unpackRecords } from '../../src/kafka/packed-records';

/** Records cross to the producer thread as one run of bytes (src/kafka/packed-records.ts). */
describe('packed records', () => {
  it('come back with the same keys, values and headers, bytes for strings', () => {
    const binary = Buffer.from([0, 255, 1, 254, 0]);
    const records = [
      { key: 'c-1', value: '{"score":1,"detail":"ünïcödé ✓ \\u0000"}' },
      { key: null, value: binary, headers: { 'dlq-reason': 'MALFORMED', 'dlq-detail': 'not JSON: ✗' } },
      { key: binary, value: null },
      { key: '', value: '' },
    ];
    const back = unpackRecords(packRecords(records));
    expect(back).toEqual([
      { key: Buffer.from('c-1'), value: Buffer.from(records[0].value as string) },
      { key: null, value: binary, headers: { 'dlq-reason': 'MALFORMED', 'dlq-detail': 'not JSON: ✗' } },
      { key: binary, value: null },
      { key: Buffer.alloc(0), value: Buffer.alloc(0) },
    ]);
    expect(unpackRecords(packRecords([]))).toEqual([]);
  });

  it('are their own bytes, exactly as long as they need, and read back as views on them rather than copies', () => {
    const packed = packRecords([{ key: 'c-1', value: 'v' }]);
    // key and value: 4 bytes of length each, the bytes; no headers: 4 bytes of count.
    expect(packed.byteLength).toBe(4 + 3 + 4 + 1 + 4);
    expect(packed.buffer.byteLength).toBe(packed.byteLength);
    const [record] = unpackRecords(packed);
    packed[4] = 'x'.charCodeAt(0);
    expect((record.key as Buffer).toString()).toBe('x-1');
  });

  it('take records larger than the buffer they are packed in, and what was packed before them', () => {
    const large = 'x'.repeat(3 * 1024 * 1024);
    const records = [
      { key: 'a', value: 'first' },
      { key: 'b', value: large },
      { key: 'c', value: 'last' },
    ];
    const back = unpackRecords(packRecords(records));
    expect(back.map((record) => [String(record.key), record.value!.length])).toEqual([
      ['a', 5],
      ['b', large.length],
      ['c', 4],
    ]);
    expect(String(back[1].value)).toBe(large);
  });
});
