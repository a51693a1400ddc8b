import type { AccountAccess } from '../accounts/service';
import type { Actor } from '../audit/audit';
import type { VerifiedKey } from '../keys/service';

/** The caller behind a valid key: the key, its account, the account's plan and limits. */
export interface Viewer {
  key: VerifiedKey;
  access: AccountAccess;
}

/**
 * The outcome of reading the request's credentials. `refused` is set when a key was presented
 * but is not valid; such a request is refused even for public fields, so a client learns of a
 * broken key at once.
 */
export interface AuthState {
  viewer?: Viewer;
  refused?: 'MALFORMED' | 'NOT_FOUND' | 'REVOKED' | 'EXPIRED' | 'ACCOUNT_DISABLED' | 'BLOCKED';
}

export function actorOf(viewer: Viewer, requestId?: string): Actor {
  return { type: 'key', keyId: viewer.key.id, accountId: viewer.key.accountId, requestId };
}
