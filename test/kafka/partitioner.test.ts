import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { KeyHashPartitioner, murmur2 } from '../../src/kafka/partitioner';

/** The fast partitioner must put every key where kafkajs' (and the Java client's) DefaultPartitioner does. */
describe('key-hash partitioner', () => {
  const metadata = (n: number): PartitionMetadata[] =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  const keys = [
    '',
    'a',
    'ab',
    'abc',
    'abcd',
    'c-42',
    'customer-000123',
    'ünïcödé-€-客户',
    ...Array.from({ length: 2000 }, (_, i) => randomBytes(i % 41).toString(i % 2 ? 'hex' : 'latin1')),
  ];

  it("hashes like Kafka's murmur2 (kafkajs' reference implementation) for every length and byte", () => {
    // kafkajs ships the Java client's murmur2 as its default partitioner's hash.
    const reference = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer) => number;
    const differ = keys.filter((key) => murmur2(Buffer.from(key)) !== reference(Buffer.from(key)));
    expect(differ).toEqual([]);
  });

  it('chooses the same partition as kafkajs DefaultPartitioner, for string and Buffer keys and any partition count', () => {
    for (const partitions of [1, 3, 10, 12, 64]) {
      const ours = KeyHashPartitioner();
      const theirs = Partitioners.DefaultPartitioner();
      for (const key of keys) {
        for (const asKey of [key, Buffer.from(key)]) {
          const args = { topic: 't', partitionMetadata: metadata(partitions), message: { key: asKey, value: 'v' } };
          expect([key, ours(args)]).toEqual([key, theirs(args)]);
        }
      }
    }
  });

  it('keeps an explicit partition and spreads messages without a key over every partition', () => {
    const ours = KeyHashPartitioner();
    expect(ours({ topic: 't', partitionMetadata: metadata(10), message: { key: 'c-42', value: 'v', partition: 7 } })).toBe(7);
    const chosen = new Set(Array.from({ length: 10 }, () => ours({ topic: 't', partitionMetadata: metadata(10), message: { value: 'v' } })));
    expect(chosen.size).toBe(10);
  });
});
