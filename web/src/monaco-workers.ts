// GraphiQL's editor (Monaco) runs its language services in web workers; Vite bundles each one from
// these `?worker` imports. (The same as `graphiql/setup-workers/vite`, kept here because Vite's
// dev-server dependency optimizer cannot follow `?worker` imports inside node_modules.)
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker';
import JsonWorker from 'monaco-editor/esm/vs/language/json/json.worker.js?worker';
import GraphQLWorker from 'monaco-graphql/esm/graphql.worker.js?worker';

(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    if (label === 'json') return new JsonWorker();
    if (label === 'graphql') return new GraphQLWorker();
    return new EditorWorker();
  },
};
