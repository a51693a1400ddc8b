import type { Config } from '../config/schema';

type ArchiveSettings = Pick<
  Config,
  | 'ARCHIVE_DIR'
  | 'ARCHIVE_S3_BUCKET'
  | 'ARCHIVE_S3_ENDPOINT'
  | 'ARCHIVE_S3_REGION'
  | 'ARCHIVE_S3_ACCESS_KEY_ID'
  | 'ARCHIVE_S3_SECRET_ACCESS_KEY'
  | 'ARCHIVE_PREFIX'
>;

/** A ClickHouse string literal (the table functions take literals, not parameters). */
const literal = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The archived objects of a dataset as a ClickHouse table function: `s3(...)` over the bucket, or
 * `file(...)` over ARCHIVE_DIR. Every object under the dataset's prefix is read; an object a
 * crashed archiver left holds the same records as the segment that replaces it, so readers
 * de-duplicate by each row's identity (`LIMIT 1 BY`) rather than consult the manifest.
 */
export function archiveTable(config: ArchiveSettings, dataset: 'transactions' | 'risk-scores' | 'usage'): string {
  const path = `${config.ARCHIVE_PREFIX}${dataset}/**/*.parquet`;
  if (config.ARCHIVE_DIR) return `file(${literal(`${config.ARCHIVE_DIR.replace(/\/$/, '')}/${path}`)}, 'Parquet')`;
  if (!config.ARCHIVE_S3_BUCKET) throw new Error('ARCHIVE_S3_BUCKET or ARCHIVE_DIR: set one to say where the archive is');
  const endpoint = config.ARCHIVE_S3_ENDPOINT ?? `https://s3.${config.ARCHIVE_S3_REGION}.amazonaws.com`;
  const url = literal(`${endpoint.replace(/\/$/, '')}/${config.ARCHIVE_S3_BUCKET}/${path}`);
  const credentials = config.ARCHIVE_S3_ACCESS_KEY_ID
    ? `, ${literal(config.ARCHIVE_S3_ACCESS_KEY_ID)}, ${literal(config.ARCHIVE_S3_SECRET_ACCESS_KEY ?? '')}`
    : '';
  return `s3(${url}${credentials}, 'Parquet')`;
}
