import { hash, randomBytes } from 'node:crypto';

export type KeyEnvironment = 'live' | 'test';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 32; // 32 base62 characters: about 190 bits from the CSPRNG
const KEY_FORMAT = /^tg_(live|test)_[0-9A-Za-z]{32}$/;
const PREFIX_CHARS = 4; // random characters kept in the displayed prefix

/** Unbiased base62: rejection sampling keeps every character equally likely. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export interface NewKeySecret {
  /** The whole key: shown once, never stored. */
  secret: string;
  /** Shown in listings to tell keys apart, e.g. `tg_live_Ab3x`. Not enough to guess the key. */
  prefix: string;
  /** Lower-case hex SHA-256 of the whole key: what the database keeps. */
  hash: string;
}

export function hashKey(secret: string): string {
  // One-shot hash: no Hash object per request (it showed in the gateway's profile).
  return hash('sha256', secret, 'hex');
}

export function newKeySecret(environment: KeyEnvironment): NewKeySecret {
  const secret = `tg_${environment}_${randomBase62(RANDOM_CHARS)}`;
  return { secret, prefix: secret.slice(0, `tg_${environment}_`.length + PREFIX_CHARS), hash: hashKey(secret) };
}

export function isWellFormedKey(candidate: string): boolean {
  return KEY_FORMAT.test(candidate);
}

/** The key from `Authorization: Bearer …` or `x-api-key`; undefined when neither is sent. */
export function keyFromHeaders(headers: { authorization?: string; 'x-api-key'?: string | string[] }): string | undefined {
  const bearer = headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) return bearer;
  if (headers.authorization) return headers.authorization; // present but not Bearer: still a (bad) credential
  const apiKey = headers['x-api-key'];
  return Array.isArray(apiKey) ? apiKey[0] : apiKey;
}

const CREDENTIAL_PARAMS = /^(api[-_]?key|x-api-key|key|token|access[-_]?token|auth|authorization|bearer)$/i;
const KEY_ANYWHERE = /tg_(?:live|test)_[0-9A-Za-z]+/;

/** The query parameters of a URL that carry (or look like they carry) a credential. */
export function credentialParams(url: string): string[] {
  const query = url.indexOf('?');
  if (query < 0) return [];
  const names: string[] = [];
  for (const [name, value] of new URLSearchParams(url.slice(query + 1))) if (CREDENTIAL_PARAMS.test(name) || KEY_ANYWHERE.test(value)) names.push(name);
  return names;
}

/** The URL with every credential-like query value (and anything shaped like a key) replaced, for logs. */
export function redactCredentials(url: string): string {
  const query = url.indexOf('?');
  const path = url.slice(0, query < 0 ? undefined : query).replace(new RegExp(KEY_ANYWHERE, 'g'), '[REDACTED]');
  if (query < 0) return path;
  const params = [...new URLSearchParams(url.slice(query + 1))];
  const redact = (name: string, value: string) => (CREDENTIAL_PARAMS.test(name) || KEY_ANYWHERE.test(value) ? '[REDACTED]' : encodeURIComponent(value));
  return `${path}?${params.map(([name, value]) => `${encodeURIComponent(name)}=${redact(name, value)}`).join('&')}`;
}
