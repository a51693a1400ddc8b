import { accessOf, adminRequired, unauthenticated, type AccessLevel } from '../../auth/access';
import { collectFields, fragmentsOf } from '../../cost/analyze';
import type { RequestStep } from '../pipeline';

/**
 * Who is calling: a refused key is refused outright (and counted against the client address);
 * public fields need no key (but count against the address); everything else needs a valid
 * key, and admin fields an ADMIN key.
 */
export const accessStep: RequestStep = {
  name: 'access',
  async decide({ operation, schema, document, request, contextValue }) {
    const { auth, log, services, clientIp } = contextValue;
    if (auth.refused) {
      log().info({ reason: auth.refused }, 'api key refused');
      await services.abuse.authenticationFailed(clientIp);
      throw unauthenticated();
    }
    const root = schema.getRootType(operation.operation);
    if (!root) return;
    const fields = collectFields(operation.selectionSet, { schema, fragments: fragmentsOf(document), variables: request.variables ?? {} }, root);
    const levels = new Set<AccessLevel>(fields.map((node) => (node.name.value.startsWith('__') ? 'public' : accessOf(root.getFields()[node.name.value]))));
    if (!levels.has('subscriber') && !levels.has('admin')) {
      if (!auth.viewer) await services.abuse.anonymousRequest(clientIp);
      return;
    }
    if (!auth.viewer) throw unauthenticated();
    if (levels.has('admin') && auth.viewer.key.role !== 'ADMIN') throw adminRequired();
  },
};
