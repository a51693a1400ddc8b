import type { AccountService } from '../accounts/service';
import type { KeyMemo, KeyService } from '../keys/service';
import { keyFromHeaders } from '../keys/secret';
import type { AuthState } from './viewer';

type Headers = Parameters<typeof keyFromHeaders>[0];

/**
 * Who is calling: no key, a valid key (with its account's access), or a refused key. `memo`: the
 * connection's (KeyService.verify).
 */
export async function authenticate(keys: KeyService, accounts: AccountService, headers: Headers, memo?: KeyMemo): Promise<AuthState> {
  const secret = keyFromHeaders(headers);
  if (secret === undefined) return {};
  const verification = await keys.verify(secret, memo);
  if (!verification.valid) return { refused: verification.reason };
  const access = await accounts.access(verification.key.accountId);
  if (!access) return { refused: 'ACCOUNT_DISABLED' };
  return { viewer: { key: verification.key, access } };
}
