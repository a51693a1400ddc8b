import { DRAFT_2020_12 } from './json-schema';
import type { DataProductDefinition } from './validation';

/**
 * JSON Schema of a `transactions` event (the Kafka topic the risk pipeline consumes; docs/contract.md).
 * Unknown properties are refused: the producer contract is exact, and an event that does not
 * match it goes to `transactions.dlq`.
 */
export const TRANSACTION_EVENT_SCHEMA = {
  $schema: DRAFT_2020_12,
  $id: 'urn:tollgraph:event:transactions:1.0.0',
  title: 'transactions event',
  description: 'One card-payment transaction. Kafka topic `transactions`, key = customerId, JSON value.',
  type: 'object',
  additionalProperties: false,
  required: ['eventId', 'customerId', 'merchantId', 'mcc', 'amount', 'currency', 'country', 'channel', 'deviceId', 'timestamp'],
  properties: {
    eventId: {
      type: 'string',
      format: 'uuid',
      pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
      description: 'Unique per event; the pipeline de-duplicates on it',
    },
    customerId: { type: 'string', minLength: 1, maxLength: 128, description: 'The scored customer; also the Kafka key' },
    merchantId: { type: 'string', minLength: 1, maxLength: 128 },
    mcc: { type: 'string', pattern: '^[0-9]{4}$', description: 'ISO 18245 merchant category code' },
    amount: {
      type: 'string',
      pattern: '^(0|[1-9][0-9]{0,13})(\\.[0-9]{1,4})?$',
      description: 'Non-negative decimal as a string (exact), e.g. "129.90": up to 14 integer and 4 fractional digits',
    },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' },
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 code of where the transaction happened' },
    channel: { enum: ['CARD_PRESENT', 'ECOMMERCE', 'ATM', 'TRANSFER'] },
    deviceId: { type: 'string', minLength: 1, maxLength: 128, description: 'The card terminal, phone or browser used' },
    timestamp: { type: 'string', format: 'date-time', description: 'Event time (when the transaction happened), ISO 8601 with offset, in the years 2000-2099' },
  },
} as const;

/**
 * The same event in Avro (Confluent framing on the `transactions` topic: magic byte 0, the
 * registry id as 4 bytes big-endian, then the Avro binary). Every property is a string, as in
 * JSON, so both forms carry exactly the same values and go through the same rules after decoding
 * (src/risk/contract.ts); `channel` is an enum. Also the risk consumer's reader schema: a writer
 * schema registered later under the subject is read through Avro schema resolution.
 */
export const TRANSACTION_AVRO_SCHEMA = {
  type: 'record',
  name: 'Transaction',
  namespace: 'tollgraph.events',
  doc: 'One card-payment transaction. Kafka topic `transactions`, key = customerId.',
  fields: [
    { name: 'eventId', type: 'string', doc: 'A UUID, unique per event; the pipeline de-duplicates on it' },
    { name: 'customerId', type: 'string', doc: 'The scored customer; also the Kafka key' },
    { name: 'merchantId', type: 'string' },
    { name: 'mcc', type: 'string', doc: 'ISO 18245 merchant category code, 4 digits' },
    { name: 'amount', type: 'string', doc: 'Non-negative decimal as a string (exact), e.g. "129.90"' },
    { name: 'currency', type: 'string', doc: 'ISO 4217 code' },
    { name: 'country', type: 'string', doc: 'ISO 3166-1 alpha-2 code' },
    { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: ['CARD_PRESENT', 'ECOMMERCE', 'ATM', 'TRANSFER'] } },
    { name: 'deviceId', type: 'string' },
    { name: 'timestamp', type: 'string', doc: 'Event time, ISO 8601 with offset, years 2000-2099' },
  ],
} as const;

/** Confluent's TopicNameStrategy subject of the `transactions` topic's values. */
export const TRANSACTIONS_SUBJECT = 'transactions-value';

/** The product the risk pipeline serves, seeded on every start until it exists. */
export const CUSTOMER_RISK_SCORES: DataProductDefinition = {
  slug: 'customer-risk-scores',
  name: 'Customer risk scores',
  domain: 'risk',
  owner: 'risk-platform@tollgraph.local',
  description:
    'Real-time fraud risk per card customer: a score from 0 to 1000, its band and the factors that explain it, ' +
    'recomputed from the `transactions` stream with event-time windows within a second of each event.',
  graphqlType: 'RiskScore',
  eventSchema: TRANSACTION_EVENT_SCHEMA,
  eventAvroSchema: TRANSACTION_AVRO_SCHEMA,
  eventAvroSubject: TRANSACTIONS_SUBJECT,
  slo: { freshnessSeconds: 1, availability: 99.9, latencyP99Ms: 150 },
  accessPolicy: {
    plans: ['FREE', 'PROFESSIONAL', 'ENTERPRISE'],
    fields: [
      { plan: 'FREE', fields: ['customerId', 'band', 'eventTime', 'computedAt', 'freshnessSeconds'] },
      { plan: 'PROFESSIONAL', fields: ['customerId', 'band', 'score', 'factors', 'eventTime', 'computedAt', 'freshnessSeconds'] },
      { plan: 'ENTERPRISE', fields: ['customerId', 'band', 'score', 'factors', 'eventTime', 'computedAt', 'freshnessSeconds'] },
    ],
  },
  version: '1.0.0',
};
