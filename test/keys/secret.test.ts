import { createHash } from 'node:crypto';
import { hashKey, isWellFormedKey, keyFromHeaders, newKeySecret } from '../../src/keys/secret';

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

  it('carry at least 128 bits: 32 characters of 62 symbols, all used, none repeating across 10,000 keys', () => {
    expect(32 * Math.log2(62)).toBeGreaterThan(128);
    const secrets = new Set<string>();
    const symbols = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const { secret } = newKeySecret('test');
      secrets.add(secret);
      for (const c of secret.slice('tg_test_'.length)) symbols.add(c);
    }
    expect(secrets.size).toBe(10_000);
    expect(symbols.size).toBe(62);
  });

  it('reject malformed candidates before any lookup', () => {
    for (const bad of ['', 'tg_live_short', 'sk_live_' + 'a'.repeat(32), 'tg_prod_' + 'a'.repeat(32), 'tg_live_' + 'a'.repeat(31) + '!']) {
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
});
