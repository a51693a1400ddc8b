import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DirectoryStore, objectStoreFor, type ObjectStore } from '../../src/archive/object-store';
import { loadConfig } from '../../src/config/load';
import { configProblems } from '../support/config';
import { printableConfig } from '../../src/config/printable';
import { serviceUrl } from '../support/throwaway-database';

const s3Settings = () => ({
  ARCHIVE_DIR: undefined,
  ARCHIVE_S3_BUCKET: serviceUrl('ARCHIVE_S3_BUCKET'),
  ARCHIVE_S3_ENDPOINT: serviceUrl('ARCHIVE_S3_ENDPOINT'),
  ARCHIVE_S3_REGION: 'us-east-1',
  ARCHIVE_S3_ACCESS_KEY_ID: serviceUrl('ARCHIVE_S3_ACCESS_KEY_ID'),
  ARCHIVE_S3_SECRET_ACCESS_KEY: serviceUrl('ARCHIVE_S3_SECRET_ACCESS_KEY'),
});

const directory = mkdtempSync(join(tmpdir(), 'tollgraph-archive-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe.each([
  ['S3 (versitygw)', async () => (await objectStoreFor(s3Settings()))!],
  ['a directory', async () => new DirectoryStore(directory)],
])('archive object store: %s', (_name, open: () => Promise<ObjectStore>) => {
  let store: ObjectStore;
  const prefix = `store-test-${randomBytes(4).toString('hex')}/`;

  beforeAll(async () => {
    store = await open();
    await store.check();
  });
  afterAll(async () => store.delete(await store.list(prefix)));

  it('puts, replaces, lists in key order, reads and deletes whole objects', async () => {
    const key = (name: string) => `${prefix}transactions/date=2026-11-24/hour=10/${name}`;
    await store.put(key('t+1+2.parquet'), new Uint8Array([1, 2, 3]));
    await store.put(key('t+1+1.parquet'), new Uint8Array([4]));
    await store.put(key('t+1+2.parquet'), new Uint8Array([5, 6]));
    expect(await store.list(prefix)).toEqual([key('t+1+1.parquet'), key('t+1+2.parquet')]);
    expect(await store.list(`${prefix}risk-scores/`)).toEqual([]);
    expect([...(await store.get(key('t+1+2.parquet')))]).toEqual([5, 6]);
    await store.delete([key('t+1+1.parquet'), key('never-written.parquet')]);
    expect(await store.list(prefix)).toEqual([key('t+1+2.parquet')]);
  });
});

describe('archive configuration errors name the setting', () => {
  it('refuses a bucket that does not exist, or credentials S3 does not accept', async () => {
    const missing = (await objectStoreFor({ ...s3Settings(), ARCHIVE_S3_BUCKET: `missing-${randomBytes(4).toString('hex')}` }))!;
    await expect(missing.check()).rejects.toThrow(/^ARCHIVE_S3_BUCKET: cannot use s3:\/\/missing-\w+ at http:\/\/127\.0\.0\.1:\d+: the bucket does not exist$/);
    const wrongSecret = (await objectStoreFor({ ...s3Settings(), ARCHIVE_S3_SECRET_ACCESS_KEY: 'not-the-secret' }))!;
    await expect(wrongSecret.check()).rejects.toThrow(
      /^ARCHIVE_S3_BUCKET: cannot use .*: access denied \(check ARCHIVE_S3_ACCESS_KEY_ID and ARCHIVE_S3_SECRET_ACCESS_KEY\)$/,
    );
  });

  it('refuses settings that contradict each other, and never prints the secret', () => {
    const problemsOf = configProblems;
    expect(problemsOf({ ARCHIVE_DIR: '/tmp/a', ARCHIVE_S3_BUCKET: 'tollgraph-archive', ARCHIVE_S3_ACCESS_KEY_ID: 'k', ARCHIVE_PREFIX: 'no-slash' })).toEqual([
      expect.stringMatching(/^ARCHIVE_PREFIX: expected an object key prefix ending with \//),
      expect.stringMatching(/^ARCHIVE_DIR: expected either ARCHIVE_DIR \(a local directory\) or ARCHIVE_S3_BUCKET, not both/),
      expect.stringMatching(/^ARCHIVE_S3_SECRET_ACCESS_KEY: expected the access key id and its secret together/),
    ]);
    expect(problemsOf({ ARCHIVE_S3_BUCKET: 'Not_A_Bucket' })).toEqual([expect.stringMatching(/^ARCHIVE_S3_BUCKET: expected an S3 bucket name/)]);
    const printed = JSON.stringify(
      printableConfig(loadConfig({ ARCHIVE_S3_BUCKET: 'b-1', ARCHIVE_S3_ACCESS_KEY_ID: 'k', ARCHIVE_S3_SECRET_ACCESS_KEY: 'very-secret-value' })),
    );
    expect(printed).not.toContain('very-secret-value');
  });

  it('refuses keys that would leave the directory', async () => {
    const store = new DirectoryStore(directory);
    await expect(store.put('../outside.parquet', new Uint8Array([1]))).rejects.toThrow('not an object key: ../outside.parquet');
    await expect(store.get('a//b')).rejects.toThrow('not an object key');
  });
});
