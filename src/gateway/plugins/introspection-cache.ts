import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { OperationDefinitionNode } from 'graphql';

/** Distinct introspection documents kept (clients send a handful: GraphiQL's, codegen's). */
const KEPT = 64;
/** Longer keys are not kept (a document made unique per request would only churn the cache). */
const MAX_KEY_CHARS = 16_384;

/** A query that selects only introspection fields at its root, without fragments: its answer depends on the schema alone. */
function introspectionOnly(operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'query') return false;
  return operation.selectionSet.selections.every((selection) => selection.kind === 'Field' && selection.name.value.startsWith('__'));
}

/**
 * Introspection answered from memory: the schema does not change while the process runs, so the
 * same document (and variables) always gets the same data. Introspection is the costliest request
 * anyone may send without a key (about 5 ms of CPU here, executing a few thousand resolvers): served
 * from memory it costs what any small query does. The guard still runs for every request
 * (`didResolveOperation` comes first); only execution is skipped.
 */
export function introspectionCachePlugin(): ApolloServerPlugin {
  const answers = new Map<string, Record<string, unknown>>();
  return {
    async requestDidStart() {
      let key: string | undefined;
      return {
        async responseForOperation({ operation, request }) {
          if (!introspectionOnly(operation) || !request.query) return null;
          key = `${request.operationName ?? ''}\n${JSON.stringify(request.variables ?? {})}\n${request.query}`;
          if (key.length > MAX_KEY_CHARS) key = undefined;
          const data = key === undefined ? undefined : answers.get(key);
          return data ? { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data } } } : null;
        },
        async willSendResponse({ response }) {
          if (key === undefined || response.body.kind !== 'single' || answers.has(key)) return;
          const { data, errors } = response.body.singleResult;
          if (!data || errors?.length) return;
          if (answers.size >= KEPT) answers.delete(answers.keys().next().value!);
          answers.set(key, data);
        },
      };
    },
  };
}
