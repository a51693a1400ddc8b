import { lz4Compress, lz4Decompress } from '@platformatic/wasm-utils';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';

interface Encoder {
  buffer: Buffer;
}

/**
 * LZ4 record batches for kafkajs, which reads only gzip of Kafka's codecs by itself: the
 * risk-scores topic is written LZ4 by default (RISK_SCORES_COMPRESSION), and the archiver and
 * every other kafkajs reader of the process must read it. LZ4 in the frame format Kafka writes,
 * by the same WebAssembly build @platformatic/kafka compresses with.
 */
export function registerKafkaLz4(): void {
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: Encoder) => lz4Compress(encoder.buffer),
    decompress: async (buffer: Buffer) => lz4Decompress(buffer),
  });
}
