import type { AuthState } from '../auth/viewer';
import type { QueryComplexity } from '../cost/analyze';
import type { Reservation } from '../limits/service';
import type { Logger } from '../ops/logger';
import type { Services } from '../services';

/** What every resolver and plugin sees for one request. Domains read their services from here. */
export interface GatewayContext {
  requestId: string;
  /** The request's logger (made on first call: most requests log nothing). */
  log(): Logger;
  services: Services;
  /** Who is calling (set before any plugin or resolver runs). */
  auth: AuthState;
  /** Who is calling now, for long-lived operations (a subscription): a revoked key or disabled account shows. */
  reauthenticate?: () => Promise<AuthState>;
  /** The caller's address, for limits on what has no account (failed auth, anonymous requests). */
  clientIp: string;
  /** What this request costs, filled in by the pipeline steps. */
  cost: RequestCost;
}

export interface RequestCost {
  complexity?: QueryComplexity;
  reservation?: Reservation;
  /** Cost units the response really used (set when the response is settled). */
  actual?: number;
}
