import { createHash } from 'node:crypto';
import type { PrismaClient } from '../../src/generated/prisma/client';
import { hashKey, isWellFormedKey, keyFromHeaders, newKeySecret } from '../../src/keys/secret';
import { KeyService } from '../../src/keys/service';
import { createLogger } from '../../src/ops/logger';
import { memoryPubSub } from '../../src/pubsub/pubsub';

describe('API key secrets', () => {
  it('are tg_<env>_ plus 32 base62 characters, with a short display prefix and a SHA-256 hash', () => {
    const { secret, prefix, hash } = newKeySecret('live');
    expect(secret).toMatch(/^tg_live_[0-9A-Za-z]{32}$/);
    expect(isWellFormedKey(secret)).toBe(true);
    expect(secret.startsWith(prefix)).toBe(true);
    expect(prefix).toHaveLength('tg_live_'.length + 4);
    expect(hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(hashKey(secret)).toBe(hash);
  });

  it('carry about 190 bits: 32 characters drawn evenly from 62 symbols, none repeating across 10,000 keys', () => {
    const secrets = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const { secret } = newKeySecret('test');
      secrets.add(secret);
      for (const c of secret.slice('tg_test_'.length)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(secrets.size).toBe(10_000);
    expect(counts.size).toBe(62);
    // Every symbol equally likely (rejection sampling, no modulo bias): 320,000 draws, about 5,161
    // each; a biased draw (byte % 62 without rejection) puts the first 8 symbols ~25 % above the rest.
    const expected = 320_000 / 62;
    for (const [symbol, count] of counts) expect({ symbol, off: Math.abs(count - expected) / expected < 0.06 }).toEqual({ symbol, off: true });
  });

  it('reject malformed candidates before any lookup', () => {
    for (const bad of ['', 'tg_live_short', `sk_live_${'a'.repeat(32)}`, `tg_prod_${'a'.repeat(32)}`, `tg_live_${'a'.repeat(31)}!`]) {
      expect(isWellFormedKey(bad)).toBe(false);
    }
  });

  it('are hashed to lower-case hex SHA-256 (what the database keeps and keys are looked up by)', () => {
    expect(hashKey('a')).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
    expect(hashKey('b')).not.toBe(hashKey('a'));
  });

  it('are read from Authorization: Bearer or x-api-key', () => {
    expect(keyFromHeaders({ authorization: 'Bearer tg_x' })).toBe('tg_x');
    expect(keyFromHeaders({ authorization: 'bearer   tg_x ' })).toBe('tg_x');
    expect(keyFromHeaders({ 'x-api-key': 'tg_y' })).toBe('tg_y');
    expect(keyFromHeaders({ authorization: 'Basic abc' })).toBe('Basic abc');
    expect(keyFromHeaders({})).toBeUndefined();
  });

  // There is no string comparison whose timing could leak a secret: the presented key is hashed and
  // the row is found by that hash (a unique index), so a row found is the key's own. This fails if a
  // lookup used the plain secret (or its prefix, then compared the secret with ===).
  it('are looked up by the SHA-256 hash of what was presented, never by or against the plain secret', async () => {
    const { secret, prefix, hash } = newKeySecret('test');
    const row = {
      id: '01900000-0000-7000-8000-000000000001',
      accountId: '01900000-0000-7000-8000-000000000002',
      role: 'SUBSCRIBER',
      prefix,
      name: 'k',
      hash,
      revokedAt: null,
      expiresAt: null,
    };
    const lookups: unknown[] = [];
    const findUnique = jest.fn(async (args: { where: Record<string, unknown> }) => {
      lookups.push(args);
      return args.where.hash === hash ? row : null;
    });
    const prisma = { apiKey: { findUnique } } as unknown as PrismaClient;
    const keys = await KeyService.create(prisma, memoryPubSub(), 'test', createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }));
    try {
      expect(await keys.verify(secret)).toMatchObject({ valid: true, key: { id: row.id } });
      // Same prefix, last character changed: looked up by its own hash, and not found.
      const nearMiss = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
      expect(await keys.verify(nearMiss)).toEqual({ valid: false, reason: 'NOT_FOUND' });
      expect(lookups).toEqual([
        { where: { hash: createHash('sha256').update(secret).digest('hex') } },
        { where: { hash: createHash('sha256').update(nearMiss).digest('hex') } },
      ]);
      for (const candidate of [secret, nearMiss, secret.slice('tg_test_'.length)]) expect(JSON.stringify(lookups)).not.toContain(candidate);
    } finally {
      await keys.close();
    }
  });
});
