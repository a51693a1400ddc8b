import type { GatewayContext } from '../gateway/context';
import type { Viewer } from './viewer';

/** The viewer of a request the access plugin has let through to a non-public field. */
export function viewerOf({ auth }: GatewayContext): Viewer {
  if (!auth.viewer) throw new Error('a non-public resolver ran without a viewer: is the access plugin installed?');
  return auth.viewer;
}

export function isAdmin(viewer: Viewer): boolean {
  return viewer.key.role === 'ADMIN';
}

/**
 * Tenant isolation: a subscriber may touch only its own account. Another account's objects are
 * "not found", never "forbidden", so their existence does not leak.
 */
export function mayAccessAccount(viewer: Viewer, accountId: string): boolean {
  return isAdmin(viewer) || viewer.key.accountId === accountId;
}

/** A data mesh's ownership: ADMIN keys publish any domain, a PUBLISHER key the domains it was given. */
export function mayPublishDomain(viewer: Viewer, domain: string): boolean {
  return isAdmin(viewer) || (viewer.key.role === 'PUBLISHER' && viewer.key.domains.includes(domain));
}
