import { z } from 'zod';
import type { ApiKey, ApiKeyRole, PrismaClient } from '../generated/prisma/client';
import { recordAudit, type Actor } from '../audit/audit';
import { InvalidatingCache } from '../cache/invalidating-cache';
import { badInput } from '../errors';
import type { Logger } from '../ops/logger';
import type { PubSub } from '../pubsub/pubsub';
import { hashKey, isWellFormedKey, newKeySecret, type KeyEnvironment } from './secret';

/** What a verified key tells the rest of the request. */
export interface VerifiedKey {
  id: string;
  accountId: string;
  role: ApiKeyRole;
  prefix: string;
  name: string;
  expiresAt: Date | null;
  /** PUBLISHER keys: the data-product domains it publishes. */
  domains: readonly string[];
}

/** Why a key was refused: for logs and metrics only, the client sees one answer for all. */
export type KeyVerification = { valid: true; key: VerifiedKey } | { valid: false; reason: 'MALFORMED' | 'NOT_FOUND' | 'REVOKED' | 'EXPIRED' };

/**
 * A connection's last key and its hash. A client sends the same key on every request of a
 * keep-alive connection, so the hash is made once per connection and key, never shared between
 * connections (one client's key is only ever compared with what the same connection sent).
 */
export interface KeyMemo {
  secret?: string;
  hash?: string;
}

/** A key as listings show it: never the secret or its hash. */
export type PublicApiKey = Omit<ApiKey, 'hash' | 'updatedAt'>;

export interface CreateKeyInput {
  accountId: string;
  name: string;
  role: ApiKeyRole;
  expiresAt?: Date | null;
  /** PUBLISHER keys only: the domains it publishes (at least one). */
  domains?: string[];
}

const DOMAIN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A PUBLISHER key names its domains; no other role has any. */
function checkDomains(role: ApiKeyRole, domains: string[]): void {
  if (role !== 'PUBLISHER') {
    if (domains.length) throw badInput('only PUBLISHER keys have domains', { fields: ['domains'] });
    return;
  }
  if (domains.length === 0 || domains.length > 20) throw badInput('a PUBLISHER key needs 1-20 domains', { fields: ['domains'] });
  const bad = domains.filter((domain) => domain.length > 50 || !DOMAIN.test(domain));
  if (bad.length) throw badInput(`domains must be lowercase words joined by hyphens, e.g. risk (not ${bad.join(', ')})`, { fields: ['domains'] });
}

const LAST_USED_FLUSH_MS = 10_000;

export function publicKey({ hash: _hash, updatedAt: _updatedAt, ...key }: ApiKey): PublicApiKey {
  return key;
}

/**
 * API keys, after Unkey: SHA-256 lookup through an in-process cache that every process drops
 * on revocation (pub/sub), and last-used times written in batches in the background.
 */
export class KeyService {
  /** Last use (ms since the epoch) of each key since the last flush. */
  private readonly lastUsed = new Map<string, number>();
  /** The answer for each cached row, made once: a row is replaced, never changed, when its key changes. */
  private readonly verified = new WeakMap<ApiKey, KeyVerification & { valid: true }>();
  private readonly flushTimer: NodeJS.Timeout;

  private constructor(
    private readonly prisma: PrismaClient,
    private readonly cache: InvalidatingCache<ApiKey | null>,
    private readonly environment: KeyEnvironment,
    private readonly logger: Logger,
  ) {
    this.flushTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  static async create(prisma: PrismaClient, pubsub: PubSub, environment: KeyEnvironment, logger: Logger): Promise<KeyService> {
    return new KeyService(prisma, await InvalidatingCache.create(pubsub, 'keys:invalidate'), environment, logger);
  }

  async verify(secret: string, memo?: KeyMemo): Promise<KeyVerification> {
    let hash = memo?.secret === secret ? memo.hash : undefined;
    if (hash === undefined) {
      if (!isWellFormedKey(secret)) return { valid: false, reason: 'MALFORMED' };
      hash = hashKey(secret);
      if (memo) {
        memo.secret = secret;
        memo.hash = hash;
      }
    }
    // Looked up by its hash, so a row found is the key's own: nothing to compare.
    const row = await this.cache.get(hash, () => this.prisma.apiKey.findUnique({ where: { hash } }));
    // Misses are not cached: random guesses must not fill the cache.
    if (!row) {
      this.cache.forget(hash);
      return { valid: false, reason: 'NOT_FOUND' };
    }
    if (row.revokedAt) return { valid: false, reason: 'REVOKED' };
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return { valid: false, reason: 'EXPIRED' };
    this.lastUsed.set(row.id, Date.now());
    let verified = this.verified.get(row);
    if (!verified)
      this.verified.set(
        row,
        (verified = {
          valid: true,
          key: { id: row.id, accountId: row.accountId, role: row.role, prefix: row.prefix, name: row.name, expiresAt: row.expiresAt, domains: row.domains },
        }),
      );
    return verified;
  }

  /** Creates a key; the returned secret exists nowhere else. */
  async create(input: CreateKeyInput, actor: Actor): Promise<{ secret: string; key: PublicApiKey }> {
    const domains = [...new Set(input.domains ?? [])].sort();
    checkDomains(input.role, domains);
    const { secret, prefix, hash } = newKeySecret(this.environment);
    const key = await this.prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          accountId: input.accountId,
          name: input.name,
          role: input.role,
          domains,
          expiresAt: input.expiresAt ?? null,
          prefix,
          hash,
          createdByKeyId: actor.keyId,
        },
      });
      await recordAudit(tx, actor, { action: 'apiKey.create', targetType: 'ApiKey', targetId: created.id, after: publicKey(created) });
      return created;
    });
    return { secret, key: publicKey(key) };
  }

  async find(id: string): Promise<PublicApiKey | null> {
    if (!z.uuid().safeParse(id).success) return null;
    const key = await this.prisma.apiKey.findUnique({ where: { id } });
    return key && publicKey(key);
  }

  /** Revokes a key (idempotent); every process refuses it within moments. */
  async revoke(id: string, actor: Actor): Promise<PublicApiKey> {
    const key = await this.prisma.$transaction(async (tx) => {
      const before = await tx.apiKey.findUniqueOrThrow({ where: { id } });
      if (before.revokedAt) return before;
      const after = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      await recordAudit(tx, actor, { action: 'apiKey.revoke', targetType: 'ApiKey', targetId: id, before: publicKey(before), after: publicKey(after) });
      return after;
    });
    await this.cache.invalidate(key.hash);
    return publicKey(key);
  }

  async list(accountId: string): Promise<PublicApiKey[]> {
    const keys = await this.prisma.apiKey.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' } });
    return keys.map(publicKey);
  }

  /** Writes the last-used times gathered since the previous flush in one statement. */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = [...this.lastUsed];
    this.lastUsed.clear();
    const ids = batch.map(([id]) => id);
    const times = batch.map(([, at]) => new Date(at).toISOString());
    try {
      await this.prisma.$executeRaw`
        UPDATE api_keys SET last_used_at = GREATEST(COALESCE(api_keys.last_used_at, used.at), used.at)
        FROM (SELECT unnest(${ids}::uuid[]) AS id, unnest(${times}::timestamptz[]) AS at) AS used
        WHERE api_keys.id = used.id`;
    } catch (error) {
      this.logger.warn({ err: error, keys: batch.length }, 'could not record key last-used times; will retry');
      for (const [id, at] of batch) if (!this.lastUsed.has(id)) this.lastUsed.set(id, at);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }
}
