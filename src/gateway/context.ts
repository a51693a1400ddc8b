import type { AuthState } from '../auth/viewer';
import type { Logger } from '../ops/logger';
import type { Services } from '../services';

/** What every resolver sees for one operation. Domains read their services from here. */
export interface GatewayContext {
  requestId: string;
  /** The request's logger (made on first call: most requests log nothing). */
  log(): Logger;
  services: Services;
  /** Who is calling (decided before the request body is read). */
  auth: AuthState;
  /** Who is calling now, for long-lived operations (a subscription): a revoked key or disabled account shows. */
  reauthenticate?: () => Promise<AuthState>;
  /** The caller's address, for limits on what has no account (failed auth, anonymous requests). */
  clientIp: string;
  /** Tells the transport which operation (root fields) this request runs, for its SLA record. */
  noteOperation?: (label: string) => void;
}
