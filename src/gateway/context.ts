import type { AuthState } from '../auth/viewer';
import type { Logger } from '../ops/logger';
import type { Services } from '../services';

/** What every resolver and plugin sees for one request. Domains read their services from here. */
export interface GatewayContext {
  requestId: string;
  log: Logger;
  services: Services;
  /** Who is calling (set before any plugin or resolver runs). */
  auth: AuthState;
}
