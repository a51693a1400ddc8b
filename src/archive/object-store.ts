import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/schema';

/** Where archive objects live: an S3 bucket, or a directory for a deployment without one. */
export interface ObjectStore {
  /** Where it is, for logs and errors (no credentials). */
  readonly location: string;
  /** Fails with a message naming the setting when the bucket or directory cannot be used. */
  check(): Promise<void>;
  /** Whole-object write: readers see the old object or the new one, never a part. */
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  list(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}

export class ArchiveConfigError extends Error {}

/** The store the configuration names, or undefined when no archive is configured. */
export async function objectStoreFor(
  config: Pick<
    Config,
    'ARCHIVE_DIR' | 'ARCHIVE_S3_BUCKET' | 'ARCHIVE_S3_ENDPOINT' | 'ARCHIVE_S3_REGION' | 'ARCHIVE_S3_ACCESS_KEY_ID' | 'ARCHIVE_S3_SECRET_ACCESS_KEY'
  >,
): Promise<ObjectStore | undefined> {
  if (config.ARCHIVE_DIR) return new DirectoryStore(config.ARCHIVE_DIR);
  if (!config.ARCHIVE_S3_BUCKET) return undefined;
  // Loaded only by the roles that archive: the gateway never carries the AWS SDK.
  const { S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: config.ARCHIVE_S3_REGION,
    endpoint: config.ARCHIVE_S3_ENDPOINT,
    // S3-compatible servers (versitygw, MinIO, Ceph) address buckets by path, not by host name.
    forcePathStyle: Boolean(config.ARCHIVE_S3_ENDPOINT),
    credentials: config.ARCHIVE_S3_ACCESS_KEY_ID
      ? { accessKeyId: config.ARCHIVE_S3_ACCESS_KEY_ID, secretAccessKey: config.ARCHIVE_S3_SECRET_ACCESS_KEY! }
      : undefined,
    maxAttempts: 5,
  });
  return new S3Store(client, config.ARCHIVE_S3_BUCKET, config.ARCHIVE_S3_ENDPOINT ?? `s3.${config.ARCHIVE_S3_REGION}.amazonaws.com`);
}

export class S3Store implements ObjectStore {
  readonly location: string;

  constructor(
    readonly client: S3Client,
    private readonly bucket: string,
    endpoint: string,
  ) {
    this.location = `s3://${bucket} at ${endpoint}`;
  }

  async check(): Promise<void> {
    const { HeadBucketCommand } = await import('@aws-sdk/client-s3');
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const cause =
        status === 404
          ? 'the bucket does not exist'
          : status === 403
            ? 'access denied (check ARCHIVE_S3_ACCESS_KEY_ID and ARCHIVE_S3_SECRET_ACCESS_KEY)'
            : (error as Error).message;
      throw new ArchiveConfigError(`ARCHIVE_S3_BUCKET: cannot use ${this.location}: ${cause}`);
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/vnd.apache.parquet' }));
  }

  async get(key: string): Promise<Uint8Array> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return answer.Body!.transformToByteArray();
  }

  async list(prefix: string): Promise<string[]> {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(keys: string[]): Promise<void> {
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    // One request per key: DeleteObjects needs a Content-MD5 that not every S3-compatible server checks the same way.
    await Promise.all(keys.map((key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))));
  }
}

/** Objects as files under a directory; a write goes to a temporary file renamed into place. */
export class DirectoryStore implements ObjectStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `directory ${root}`;
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
    } catch (error) {
      throw new ArchiveConfigError(`ARCHIVE_DIR: cannot use ${this.root}: ${(error as Error).message}`);
    }
  }

  private path(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`not an object key: ${key}`);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, path);
  }

  async get(key: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(this.path(key)));
  }

  async list(prefix: string): Promise<string[]> {
    const files = await readdir(this.root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return files
      .filter((file) => file.isFile() && !file.name.endsWith('.tmp'))
      .map((file) => relative(this.root, join(file.parentPath, file.name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.path(key), { force: true })));
  }
}
