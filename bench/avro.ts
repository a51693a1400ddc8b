import { TRANSACTION_AVRO_SCHEMA } from '../src/catalog/customer-risk-scores';
import { AvroTransactionReader, encodeTransactionAvro } from '../src/risk/avro';
import { decodeTransaction } from '../src/risk/contract';
import type { BenchContext } from './context';
import { figure, type Figure } from './lib/stats';
import { benchFeed } from './lib/world';

export interface AvroDecodeResult {
  /** Events decoded per run and format. */
  events: number;
  /** Mean bytes per event on the wire. */
  jsonBytes: number;
  avroBytes: number;
  /** Events/s decoded and validated (`decodeTransaction`), per run: JSON alone, JSON with the Avro reader passed (the consumer's path), Avro, and half and half. */
  json: Figure;
  jsonWithReader: Figure;
  avro: Figure;
  mixed: Figure;
}

const SCHEMA_ID = 1;
const MAX_BYTES = 4096;

/**
 * The consumer's per-event decoding of `transactions`, in this process, no services: the same
 * feed events as JSON and as Confluent-framed Avro (the registry's schema already cached, as it
 * is after a consumer's first batch), each through `decodeTransaction`: parse or Avro decode, the
 * contract's rules, the key check. Runs alternate between the formats so a busy machine weighs on
 * each alike.
 */
export async function avroBenchmark(ctx: BenchContext): Promise<AvroDecodeResult> {
  const count = ctx.smoke ? 20_000 : 200_000;
  const rounds = ctx.smoke ? 2 : 5;
  const feed = benchFeed({ customers: 100_000, rate: 5_000, start: Date.now() - 3_600_000 });
  const json: Array<{ key: string; value: Buffer }> = [];
  const framed: Array<{ key: string; value: Buffer }> = [];
  while (json.length < count) {
    const message = feed.next();
    if (!message.event) continue;
    json.push({ key: message.key, value: message.value });
    framed.push({ key: message.key, value: encodeTransactionAvro(SCHEMA_ID, message.event) });
  }
  const mixed = json.map((message, i) => (i % 2 ? framed[i] : message));
  const reader = new AvroTransactionReader({ schemasByIds: async () => new Map([[SCHEMA_ID, JSON.stringify(TRANSACTION_AVRO_SCHEMA)]]) });
  await reader.prepare(framed.slice(0, 1));

  const rate = (messages: Array<{ key: string; value: Buffer }>, withReader: boolean): number => {
    const avro = withReader ? reader : undefined;
    const began = performance.now();
    let ok = 0;
    for (const { key, value } of messages) if (decodeTransaction(value, key, MAX_BYTES, avro).ok) ok++;
    const seconds = (performance.now() - began) / 1000;
    if (ok !== messages.length) throw new Error(`${messages.length - ok} of ${messages.length} events did not decode`);
    return messages.length / seconds;
  };
  // One untimed pass of each, so every path is compiled before the first timed run.
  rate(json.slice(0, 2_000), false);
  rate(mixed.slice(0, 2_000), true);
  const runs = { json: [] as number[], jsonWithReader: [] as number[], avro: [] as number[], mixed: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    runs.json.push(rate(json, false));
    runs.jsonWithReader.push(rate(json, true));
    runs.avro.push(rate(framed, true));
    runs.mixed.push(rate(mixed, true));
    ctx.log(`avro decode round ${round + 1}/${rounds}: JSON ${Math.round(runs.json.at(-1)!)}/s, Avro ${Math.round(runs.avro.at(-1)!)}/s`);
  }
  const meanBytes = (messages: Array<{ value: Buffer }>) => messages.reduce((sum, message) => sum + message.value.length, 0) / messages.length;
  return {
    events: count,
    jsonBytes: meanBytes(json),
    avroBytes: meanBytes(framed),
    json: figure(runs.json),
    jsonWithReader: figure(runs.jsonWithReader),
    avro: figure(runs.avro),
    mixed: figure(runs.mixed),
  };
}
