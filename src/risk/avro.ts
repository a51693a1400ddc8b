import avro from 'avsc';
import { TRANSACTION_AVRO_SCHEMA } from '../catalog/customer-risk-scores';
import { frame, framedSchemaId, HEADER_BYTES } from '../catalog/registry/wire';
import type { AvroRead, AvroReader, TransactionEvent } from './contract';
import { BANDS } from './model/types';
import type { RiskScoreView } from './view';

/** Where writer schemas come from (the catalog's registry, read directly: the consumer is trusted). */
export interface SchemaSource {
  schemasByIds(ids: readonly number[]): Promise<Map<number, string>>;
}

/** How the messages of one writer schema are read: straight (it is the reader schema), through a resolver, or not at all. */
type Reading = { resolver?: ReturnType<avro.Type['createResolver']>; problem?: undefined } | { problem: string };

const readerType = () => avro.Type.forSchema(TRANSACTION_AVRO_SCHEMA as unknown as avro.Schema, { omitRecordMethods: true });

/**
 * Confluent-framed Avro `transactions` events, read with the contract's own Avro schema as the
 * reader schema: a message written with another registered schema goes through Avro schema
 * resolution. Writer schemas are loaded by id once per batch that needs one (`prepare`) and then
 * kept: registry ids are immutable. Unknown ids are not remembered (a schema registered later is
 * found then). What is read is checked by the same rules as JSON afterwards (src/risk/contract.ts).
 */
export class AvroTransactionReader implements AvroReader {
  private readonly reader = readerType();
  private readonly byId = new Map<number, Reading>();

  constructor(private readonly source: SchemaSource) {}

  /** Loads the writer schemas of the batch's framed messages not known yet, in one query. */
  async prepare(messages: ReadonlyArray<{ value: Buffer | null }>, from = 0): Promise<void> {
    let missing: Set<number> | undefined;
    for (let i = from; i < messages.length; i++) {
      const id = framedSchemaId(messages[i].value);
      if (id !== undefined && !this.byId.has(id)) (missing ??= new Set()).add(id);
    }
    if (!missing) return;
    for (const [id, text] of await this.source.schemasByIds([...missing])) this.byId.set(id, this.readingOf(id, text));
  }

  /** Reads a framed value (magic byte 0): the event as a plain record, or why it goes to the DLQ. */
  read(value: Buffer): AvroRead {
    const id = framedSchemaId(value);
    if (id === undefined)
      return { ok: false, reason: 'MALFORMED', detail: `starts with the Avro magic byte 0 but is shorter than the ${HEADER_BYTES}-byte header` };
    const reading = this.byId.get(id);
    if (!reading) return { ok: false, reason: 'UNKNOWN_SCHEMA', detail: `schema id ${id} is not registered` };
    if (reading.problem !== undefined) return { ok: false, reason: 'SCHEMA_VIOLATION', detail: reading.problem };
    try {
      return { ok: true, event: this.reader.fromBuffer(value.subarray(HEADER_BYTES), reading.resolver) };
    } catch (error) {
      return { ok: false, reason: 'MALFORMED', detail: `not Avro of schema ${id}: ${(error as Error).message}` };
    }
  }

  private readingOf(id: number, text: string): Reading {
    try {
      const writer = avro.Type.forSchema(JSON.parse(text) as avro.Schema);
      // Equal canonical forms encode alike: no resolver, the faster read.
      return this.reader.equals(writer) ? {} : { resolver: this.reader.createResolver(writer) };
    } catch (error) {
      return { problem: `schema ${id} cannot be read as a transactions event: ${(error as Error).message}` };
    }
  }
}

let writer: avro.Type | undefined;

/** An event in Confluent-framed Avro with the contract's schema, registered as `id` (producers: the feed, tests). */
export function encodeTransactionAvro(id: number, event: TransactionEvent): Buffer {
  return frame(id, (writer ??= readerType()).toBuffer(event));
}

/** Confluent's TopicNameStrategy subject of the `risk-scores` topic's values (RISK_SCORES_FORMAT=avro). */
export const RISK_SCORES_SUBJECT = 'risk-scores-value';

/** A score on the `risk-scores` topic in Avro: the same properties as its JSON (src/risk/view.ts). */
export const RISK_SCORE_AVRO_SCHEMA = {
  type: 'record',
  name: 'RiskScore',
  namespace: 'tollgraph.risk',
  doc: 'A risk score of one transactions event. Kafka topic `risk-scores`, key = customerId.',
  fields: [
    { name: 'customerId', type: 'string' },
    { name: 'eventId', type: 'string', doc: 'The scored event; readers de-duplicate on it' },
    { name: 'score', type: 'int', doc: '0 to 1000' },
    { name: 'band', type: { type: 'enum', name: 'Band', symbols: [...BANDS] } },
    {
      name: 'factors',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'RiskFactor',
          fields: [
            { name: 'code', type: 'string' },
            { name: 'contribution', type: 'int' },
            { name: 'detail', type: 'string' },
          ],
        },
      },
    },
    { name: 'eventTime', type: 'string', doc: 'ISO 8601' },
    { name: 'computedAt', type: 'string', doc: 'ISO 8601' },
    { name: 'modelVersion', type: 'string' },
  ],
};

/** Encodes scores as Confluent-framed Avro with the score schema registered as `id`. */
export function riskScoreEncoder(id: number): (view: RiskScoreView) => Buffer {
  const type = avro.Type.forSchema(RISK_SCORE_AVRO_SCHEMA as avro.Schema);
  return (view) => frame(id, type.toBuffer(view));
}
