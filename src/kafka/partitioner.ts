import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (the Java client's Utils.murmur2, which kafkajs' DefaultPartitioner follows) in
 * 32-bit integer arithmetic. kafkajs computes it with a 64-bit Long emulation that allocates at
 * every step: its partitioner was the largest cost of producing a score (bench/ingestion.ts).
 */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) h = Math.imul(h ^ data[tail], M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

/**
 * kafkajs' DefaultPartitioner (the Java client's choice: a message with a key goes to
 * murmur2(key) mod partitions, so every client puts a key on the same partition), on the fast
 * murmur2. Messages without a key take turns.
 */
export const KeyHashPartitioner: ICustomPartitioner = () => {
  let turn = 0;
  return ({ partitionMetadata, message }: PartitionerArgs) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const partitions = partitionMetadata.length;
    if (message.key === null || message.key === undefined) return partitionMetadata[turn++ % partitions].partitionId;
    const key = typeof message.key === 'string' ? Buffer.from(message.key) : message.key;
    return (murmur2(key) & 0x7fffffff) % partitions;
  };
};
