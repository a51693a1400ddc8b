import { DRAFT_2020_12 } from './json-schema';
import type { DataProductDefinition } from './validation';

/*
 * The products the streaming core's keyed operators compute from `transactions` besides the risk
 * scores (src/risk/operators). Their schemas describe what they publish (the records of their
 * output topics, which the GraphQL types mirror); the events they read are `transactions`, whose
 * contract belongs to customer-risk-scores.
 */

const window = (name: string, values: string[]) => ({ type: 'string', enum: values, description: `${name}: event time up to the newest event, half-open` });
const count = { type: 'integer', minimum: 0 };
const eur = { type: 'number', minimum: 0, description: 'EUR at the risk model’s fixed rates, summed in whole cents' };
const share = { type: 'number', minimum: 0, maximum: 1 };
const head = {
  key: { type: 'string', minLength: 1, maxLength: 128, description: 'The Kafka key (the customer or merchant id)' },
  version: { type: 'integer', minimum: 1, description: 'Grows with every event counted for the key: keep the highest' },
  asOf: { type: 'string', format: 'date-time', description: 'The key’s newest event time: windows end there' },
};

export const SPEND_FEATURES_SCHEMA = {
  $schema: DRAFT_2020_12,
  $id: 'urn:tollgraph:product:customer-spend-features:1.0.0',
  title: 'customer-spend-features record',
  description: 'A customer’s rolling spend. Kafka topic `customer-spend-features`, key = customerId, JSON value.',
  type: 'object',
  additionalProperties: false,
  required: ['key', 'version', 'customerId', 'asOf', 'windows'],
  properties: {
    ...head,
    customerId: { type: 'string', minLength: 1, maxLength: 128 },
    windows: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['window', 'count', 'sumEur', 'avgEur', 'distinctMerchants'],
        properties: { window: window('1m, 1h or 24h', ['1m', '1h', '24h']), count, sumEur: eur, avgEur: eur, distinctMerchants: count },
      },
    },
  },
} as const;

export const MERCHANT_RISK_SCHEMA = {
  $schema: DRAFT_2020_12,
  $id: 'urn:tollgraph:product:merchant-risk:1.0.0',
  title: 'merchant-risk record',
  description: 'A merchant’s fraud-band, decline and dispute shares and volume. Kafka topic `merchant-risk`, key = merchantId, JSON value.',
  type: 'object',
  additionalProperties: false,
  required: ['key', 'version', 'merchantId', 'asOf', 'windows'],
  properties: {
    ...head,
    merchantId: { type: 'string', minLength: 1, maxLength: 128 },
    windows: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['window', 'transactions', 'volumeEur', 'highRisk', 'declines', 'disputes', 'highRiskShare', 'declineShare', 'disputeShare'],
        properties: {
          window: window('1h or 24h', ['1h', '24h']),
          transactions: count,
          volumeEur: eur,
          highRisk: { ...count, description: 'Transactions the risk model put in HIGH or CRITICAL' },
          declines: { ...count, description: 'Decline proxy: transactions in CRITICAL' },
          disputes: { ...count, description: 'Dispute proxy: MEDIUM or above with impossible travel, card testing or a new device' },
          highRiskShare: share,
          declineShare: share,
          disputeShare: share,
        },
      },
    },
  },
} as const;

const avroRecord = (name: string, doc: string, keyName: string, windowFields: Array<{ name: string; type: string }>) => ({
  type: 'record',
  name,
  namespace: 'tollgraph.products',
  doc,
  fields: [
    { name: 'key', type: 'string' },
    { name: 'version', type: 'long' },
    { name: keyName, type: 'string' },
    { name: 'asOf', type: 'string', doc: 'ISO 8601 event time' },
    {
      name: 'windows',
      type: { type: 'array', items: { type: 'record', name: `${name}Window`, fields: [{ name: 'window', type: 'string' }, ...windowFields] } },
    },
  ],
});

export const SPEND_FEATURES_AVRO_SCHEMA = avroRecord('CustomerSpendFeatures', 'A customer’s rolling spend (topic customer-spend-features).', 'customerId', [
  { name: 'count', type: 'int' },
  { name: 'sumEur', type: 'double' },
  { name: 'avgEur', type: 'double' },
  { name: 'distinctMerchants', type: 'int' },
]);

export const MERCHANT_RISK_AVRO_SCHEMA = avroRecord('MerchantRisk', 'A merchant’s risk shares and volume (topic merchant-risk).', 'merchantId', [
  { name: 'transactions', type: 'int' },
  { name: 'volumeEur', type: 'double' },
  { name: 'highRisk', type: 'int' },
  { name: 'declines', type: 'int' },
  { name: 'disputes', type: 'int' },
  { name: 'highRiskShare', type: 'double' },
  { name: 'declineShare', type: 'double' },
  { name: 'disputeShare', type: 'double' },
]);

const PAID = ['PROFESSIONAL', 'ENTERPRISE'];

export const CUSTOMER_SPEND_FEATURES: DataProductDefinition = {
  slug: 'customer-spend-features',
  name: 'Customer spend features',
  domain: 'features',
  owner: 'risk-platform@tollgraph.local',
  description:
    'Per-customer rolling counts, sums, averages and distinct merchants over 1 minute, 1 hour and 24 hours of event time, ' +
    'from the `transactions` stream, for customers’ own models. Cost: one unit per customer asked (`customerSpendFeatures`), ' +
    'one per update delivered live (`customerSpendFeaturesUpdated`).',
  graphqlType: 'CustomerSpendFeatures',
  eventSchema: SPEND_FEATURES_SCHEMA,
  eventAvroSchema: SPEND_FEATURES_AVRO_SCHEMA,
  eventAvroSubject: 'customer-spend-features-value',
  slo: { freshnessSeconds: 2, availability: 99.9, latencyP99Ms: 150 },
  accessPolicy: { plans: PAID, fields: PAID.map((plan) => ({ plan, fields: ['customerId', 'asOf', 'windows'] })) },
  version: '1.0.0',
};

export const MERCHANT_RISK: DataProductDefinition = {
  slug: 'merchant-risk',
  name: 'Merchant risk',
  domain: 'merchant',
  owner: 'risk-platform@tollgraph.local',
  description:
    'Per-merchant share of transactions the risk model puts in HIGH or CRITICAL, decline and dispute proxies and volume over ' +
    'sliding 1-hour and 24-hour windows of event time, from the `transactions` stream re-keyed by merchant. Cost: one unit per ' +
    'merchant asked (`merchantRisk`), one per update delivered live (`merchantRiskUpdated`).',
  graphqlType: 'MerchantRisk',
  eventSchema: MERCHANT_RISK_SCHEMA,
  eventAvroSchema: MERCHANT_RISK_AVRO_SCHEMA,
  eventAvroSubject: 'merchant-risk-value',
  slo: { freshnessSeconds: 5, availability: 99.9, latencyP99Ms: 150 },
  accessPolicy: { plans: PAID, fields: PAID.map((plan) => ({ plan, fields: ['merchantId', 'asOf', 'windows'] })) },
  version: '1.0.0',
};
