import type { ColumnSource } from 'hyparquet-writer' with { 'resolution-mode': 'import' };
import type { AvroTransactionReader } from '../risk/avro';
import type { LedgerRecord } from '../metering/ledger';
import { decodeTransaction } from '../risk/contract';
import type { RiskScoreView } from '../risk/view';

/** A Kafka record as the archiver receives it. */
export interface SourceRecord {
  partition: number;
  offset: number;
  /** The record's timestamp (ms). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** One archived row: its columns, and the time that places it in an hour. */
export interface ArchiveRow {
  time: number;
  values: unknown[];
}

type ColumnType = NonNullable<ColumnSource['type']>;

interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/** What a source (a topic, the usage ledger) becomes in the archive: its columns and how one of its records fills them. */
export interface Dataset<Input = SourceRecord> {
  name: 'transactions' | 'risk-scores' | 'usage';
  columns: Column[];
  /** `avro` reads Confluent-framed Avro records (their schemas prepared for the batch). */
  row(input: Input, avro?: AvroTransactionReader): ArchiveRow;
}

const required = (name: string, type: ColumnType): Column => ({ name, type, nullable: false });
const optional = (name: string, type: ColumnType): Column => ({ name, type, nullable: true });

/** Every archived record keeps where it came from: (partition, offset) is its identity. */
const SOURCE_COLUMNS = [required('partition', 'INT32'), required('offset', 'INT64'), required('record_time', 'TIMESTAMP')];
const sourceValues = (record: SourceRecord) => [record.partition, BigInt(record.offset), new Date(record.timestamp)];

/**
 * The transactions topic, raw and decoded: `key` and `value` exactly as produced (a replay from
 * the archive feeds them to the pipeline as Kafka would), plus the contract's fields for
 * analytics, null where the record broke the contract (`dlq_reason` says how).
 */
export const transactionsDataset: Dataset = {
  name: 'transactions',
  columns: [
    ...SOURCE_COLUMNS,
    optional('key', 'BYTE_ARRAY'),
    optional('value', 'BYTE_ARRAY'),
    optional('dlq_reason', 'STRING'),
    optional('event_id', 'STRING'),
    optional('customer_id', 'STRING'),
    optional('merchant_id', 'STRING'),
    optional('mcc', 'STRING'),
    optional('amount', 'STRING'),
    optional('amount_eur', 'DOUBLE'),
    optional('currency', 'STRING'),
    optional('country', 'STRING'),
    optional('channel', 'STRING'),
    optional('device_id', 'STRING'),
    optional('event_time', 'TIMESTAMP'),
  ],
  row(record, avro) {
    // Decoded without a size limit: the archive keeps what the topic holds; the pipeline's limit is its own.
    const decoded = decodeTransaction(record.value, record.key, Number.MAX_SAFE_INTEGER, avro);
    const raw = [...sourceValues(record), record.key, record.value];
    if (!decoded.ok) return { time: record.timestamp, values: [...raw, decoded.reason, null, null, null, null, null, null, null, null, null, null, null] };
    const { tx } = decoded;
    return {
      time: tx.time,
      values: [
        ...raw,
        null,
        tx.eventId,
        tx.customerId,
        tx.merchantId,
        tx.mcc,
        tx.amount,
        tx.amountEur,
        tx.currency,
        tx.country,
        tx.channel,
        tx.deviceId,
        new Date(tx.time),
      ],
    };
  },
};

/** The risk-scores topic: one row per record (a redelivered score appears twice, as on the topic; readers keep one per event id). */
export const riskScoresDataset: Dataset = {
  name: 'risk-scores',
  columns: [
    ...SOURCE_COLUMNS,
    optional('event_id', 'STRING'),
    optional('customer_id', 'STRING'),
    optional('score', 'INT32'),
    optional('band', 'STRING'),
    optional('factors', 'JSON'),
    optional('model_version', 'STRING'),
    optional('event_time', 'TIMESTAMP'),
    optional('computed_at', 'TIMESTAMP'),
    // Anything on the topic that is not a score, kept as it came.
    optional('unparsed', 'BYTE_ARRAY'),
  ],
  row(record) {
    const view = parseScore(record.value);
    if (!view) return { time: record.timestamp, values: [...sourceValues(record), null, null, null, null, null, null, null, null, record.value] };
    const time = Date.parse(view.eventTime);
    return {
      time,
      values: [
        ...sourceValues(record),
        view.eventId,
        view.customerId,
        view.score,
        view.band,
        JSON.stringify(view.factors),
        view.modelVersion,
        new Date(time),
        new Date(view.computedAt),
        null,
      ],
    };
  },
};

function parseScore(value: Buffer | null): RiskScoreView | undefined {
  if (!value) return undefined;
  try {
    const view = JSON.parse(value.toString('utf8')) as Partial<RiskScoreView>;
    const ok =
      typeof view.eventId === 'string' &&
      typeof view.customerId === 'string' &&
      typeof view.score === 'number' &&
      Number.isFinite(Date.parse(view.eventTime ?? '')) &&
      Number.isFinite(Date.parse(view.computedAt ?? ''));
    return ok ? (view as RiskScoreView) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The usage ledger, hour by hour: every billable call (and delivered live event) as recorded,
 * without its billing state (which report included it changes after the hour is archived).
 */
export const usageDataset: Dataset<LedgerRecord> = {
  name: 'usage',
  columns: [
    required('request_id', 'STRING'),
    required('account_id', 'STRING'),
    optional('api_key_id', 'STRING'),
    required('plan_code', 'STRING'),
    required('operation', 'STRING'),
    required('meter', 'STRING'),
    required('cost_units', 'INT32'),
    required('occurred_at', 'TIMESTAMP'),
  ],
  row: (record) => ({
    time: record.occurredAt.getTime(),
    values: [record.requestId, record.accountId, record.apiKeyId, record.planCode, record.operation, record.meter, record.costUnits, record.occurredAt],
  }),
};

/** The Parquet columns of some rows of a dataset. */
export function columnData(dataset: Pick<Dataset<never>, 'columns'>, rows: ArchiveRow[]): ColumnSource[] {
  return dataset.columns.map((column, i) => {
    const values = rows.map((row) => row.values[i]);
    return { name: column.name, type: column.type, nullable: column.nullable, data: column.type === 'INT64' ? BigInt64Array.from(values as bigint[]) : values };
  }) as ColumnSource[];
}

/** `date=YYYY-MM-DD/hour=HH` (UTC) of a time: the Hive-style partition its rows go under. */
export function hourPartition(time: number): string {
  const iso = new Date(time).toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** The start (epoch ms) of the event hour an object key names (see objectKey); undefined for a key of another form. */
export function hourOfKey(key: string): number | undefined {
  const match = /\/date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  return match ? Date.parse(`${match[1]}T${match[2]}:00:00Z`) : undefined;
}

const pad = (offset: number) => String(offset).padStart(19, '0');

/**
 * The object of one hour of a segment: the same records always get the same name, so a segment
 * written again after a crash overwrites its objects instead of adding to them. Offsets are
 * zero-padded so that names sort in offset order.
 */
export function objectKey(
  prefix: string,
  dataset: Dataset['name'],
  hour: string,
  topic: string,
  partition: number,
  fromOffset: number,
  toOffset: number,
): string {
  return `${prefix}${dataset}/${hour}/${topic}+${partition}+${pad(fromOffset)}-${pad(toOffset)}.parquet`;
}
