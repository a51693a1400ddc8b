import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The developer portal: a static build served by the gateway at `/` (src/portal/static.ts).
 * `npm run dev:web` serves it with hot reload and forwards /graphql (and its WebSocket) to a
 * gateway on :4000 (`npm start` in another terminal), or at TOLLGRAPH_URL.
 */
export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    // GraphiQL's editor (Monaco) is one large chunk, loaded only when the explorer opens.
    chunkSizeWarningLimit: 4000,
    rolldownOptions: {
      // GraphiQL's dependencies mark modules "use client" (a React Server Components hint that
      // means nothing in a client bundle); do not warn about each one.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: { '/graphql': { target: process.env.TOLLGRAPH_URL ?? 'http://127.0.0.1:4000', ws: true } },
  },
});
