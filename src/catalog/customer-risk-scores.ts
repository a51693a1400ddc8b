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
    amount: { type: 'string', pattern: '^(0|[1-9][0-9]{0,13})(\\.[0-9]{1,4})?$', description: 'Non-negative decimal as a string (exact), e.g. "129.90": up to 14 integer and 4 fractional digits' },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' },
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 code of where the transaction happened' },
    channel: { enum: ['CARD_PRESENT', 'ECOMMERCE', 'ATM', 'TRANSFER'] },
    deviceId: { type: 'string', minLength: 1, maxLength: 128, description: 'The card terminal, phone or browser used' },
    timestamp: { type: 'string', format: 'date-time', description: 'Event time (when the transaction happened), ISO 8601 with offset, in the years 2000-2099' },
  },
} as const;

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
