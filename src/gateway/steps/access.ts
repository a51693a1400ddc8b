import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import { accessOf, adminRequired, unauthenticated, type AccessLevel } from '../../auth/access';
import type { GatewayContext } from '../context';

/** Root field names of an operation, looking through fragments. */
function rootFields(selectionSet: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, into = new Set<string>()): Set<string> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) into.add(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) rootFields(selection.selectionSet, fragments, into);
    else if (fragments[selection.name.value]) rootFields(fragments[selection.name.value].selectionSet, fragments, into);
  }
  return into;
}

/**
 * Who is calling, decided before any resolver runs: a refused key is refused outright; public
 * fields need no key; everything else needs a valid one, and admin fields an ADMIN key.
 */
export function accessPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, schema, document, contextValue }) {
          const { auth, log } = contextValue;
          if (!operation) return; // Apollo has already refused a document without one
          if (auth.refused) {
            log.info({ reason: auth.refused }, 'api key refused');
            throw unauthenticated();
          }
          const fragments = Object.fromEntries(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const root = schema.getRootType(operation.operation)?.getFields() ?? {};
          const levels = new Set<AccessLevel>(
            [...rootFields(operation.selectionSet, fragments)].map((name) => (name.startsWith('__') ? 'public' : accessOf(root[name]))),
          );
          if (!levels.has('subscriber') && !levels.has('admin')) return;
          if (!auth.viewer) throw unauthenticated();
          if (levels.has('admin') && auth.viewer.key.role !== 'ADMIN') throw adminRequired();
        },
      };
    },
  };
}
