import { accessOf, adminRequired, unauthenticated, type AccessLevel } from '../../auth/access';
import { collectFields, fragmentsOf } from '../../cost/analyze';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { RequestStep } from '../pipeline';

// The levels an operation's root fields require depend on the document alone (Apollo hands back
// the same parsed document for a repeated query): worked out once per operation.
const levelsByOperation = new WeakMap<OperationDefinitionNode, Set<AccessLevel> | null>();

function accessLevels(operation: OperationDefinitionNode, schema: GraphQLSchema, document: DocumentNode): Set<AccessLevel> | null {
  let levels = levelsByOperation.get(operation);
  if (levels === undefined) {
    const root = schema.getRootType(operation.operation);
    const levelOf = (name: string): AccessLevel => (name.startsWith('__') || !root ? 'public' : accessOf(root.getFields()[name]));
    levels = root ? new Set(collectFields(operation.selectionSet, { schema, fragments: fragmentsOf(document), variables: {} }, root).map((node) => levelOf(node.name.value))) : null;
    levelsByOperation.set(operation, levels);
  }
  return levels;
}

/**
 * Who is calling: a refused key is refused outright (and counted against the client address);
 * public fields need no key (but count against the address); everything else needs a valid
 * key, and admin fields an ADMIN key.
 */
export const accessStep: RequestStep = {
  name: 'access',
  async decide({ operation, schema, document, contextValue }) {
    const { auth, log, services, clientIp } = contextValue;
    if (auth.refused) {
      log().info({ reason: auth.refused }, 'api key refused');
      await services.abuse.authenticationFailed(clientIp);
      throw unauthenticated();
    }
    const levels = accessLevels(operation, schema, document);
    if (!levels) return;
    if (!levels.has('subscriber') && !levels.has('admin')) {
      if (!auth.viewer) await services.abuse.anonymousRequest(clientIp);
      return;
    }
    if (!auth.viewer) throw unauthenticated();
    if (levels.has('admin') && auth.viewer.key.role !== 'ADMIN') throw adminRequired();
  },
};
