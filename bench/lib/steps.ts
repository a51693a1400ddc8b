/**
 * Where a GraphQL server's CPU goes per request, by step of the request path, from a V8 CPU
 * profile (the `Profiler` domain's JSON): each sample is charged to the innermost frame on its
 * stack that is ours (src/, by folder) or a framework's (express, Apollo, graphql-js). Client
 * libraries (ioredis, pg, pino, prom-client) count for the frame that called them, or for
 * themselves when nothing did (a reply parsed in a socket callback), so a step includes the
 * client work it asks for.
 */

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** The steps in the order of the request path. */
export const STEPS = [
  'HTTP, body, routing (Node.js, express)',
  'key check',
  'document limits and cost analysis',
  'limits (reserve, refund)',
  'Apollo Server request pipeline',
  'execution (graphql-js, resolvers, their Redis reads)',
  'actual cost',
  'headers and extensions.cost',
  'usage ledger (group commit, spool or pg)',
  'logging (pino)',
  'metrics (prom-client)',
  'guard and plugin hooks (ours, the rest)',
  'Redis client, not attributed',
  'garbage collector',
  'other (promises, timers, Node.js internals)',
] as const;
export type Step = (typeof STEPS)[number];

/** Our folders (innermost match wins; order matters where one path prefixes another). */
const OURS: Array<[string, Step]> = [
  ['src/auth/', 'key check'],
  ['src/keys/', 'key check'],
  ['src/accounts/', 'key check'],
  ['src/cost/actual', 'actual cost'],
  ['src/cost/', 'document limits and cost analysis'],
  ['src/limits/headers', 'headers and extensions.cost'],
  ['src/limits/', 'limits (reserve, refund)'],
  ['src/metering/', 'usage ledger (group commit, spool or pg)'],
  ['src/db/', 'usage ledger (group commit, spool or pg)'],
  ['src/ops/request-log', 'logging (pino)'],
  ['src/ops/logger', 'logging (pino)'],
  ['src/gateway/plugins/metrics', 'metrics (prom-client)'],
  ['src/ops/metrics', 'metrics (prom-client)'],
  ['src/risk/', 'execution (graphql-js, resolvers, their Redis reads)'],
  ['src/gateway/apollo-middleware', 'Apollo Server request pipeline'],
  ['src/gateway/json-body', 'HTTP, body, routing (Node.js, express)'],
  ['src/gateway/handler-chain', 'HTTP, body, routing (Node.js, express)'],
  ['src/gateway/', 'guard and plugin hooks (ours, the rest)'],
];

/** Frameworks: the innermost one decides, unless our code is nearer the leaf. */
const FRAMEWORKS = new Map<string, Step>([
  ['express', 'HTTP, body, routing (Node.js, express)'],
  ['router', 'HTTP, body, routing (Node.js, express)'],
  ['body-parser', 'HTTP, body, routing (Node.js, express)'],
  ['raw-body', 'HTTP, body, routing (Node.js, express)'],
  ['content-type', 'HTTP, body, routing (Node.js, express)'],
  ['type-is', 'HTTP, body, routing (Node.js, express)'],
  ['finalhandler', 'HTTP, body, routing (Node.js, express)'],
  ['iconv-lite', 'HTTP, body, routing (Node.js, express)'],
  ['@as-integrations/express5', 'Apollo Server request pipeline'],
  ['@apollo/server', 'Apollo Server request pipeline'],
  ['@apollo/utils.keyvaluecache', 'Apollo Server request pipeline'],
  ['graphql', 'execution (graphql-js, resolvers, their Redis reads)'],
  ['type-graphql', 'execution (graphql-js, resolvers, their Redis reads)'],
]);

/** Client libraries: charged to whoever called them. */
const CLIENTS = new Map<string, Step>([
  ['pg', 'usage ledger (group commit, spool or pg)'],
  ['pg-protocol', 'usage ledger (group commit, spool or pg)'],
  ['pg-pool', 'usage ledger (group commit, spool or pg)'],
  ['pino', 'logging (pino)'],
  ['sonic-boom', 'logging (pino)'],
  ['prom-client', 'metrics (prom-client)'],
  ['ioredis', 'Redis client, not attributed'],
  ['@ioredis/commands', 'Redis client, not attributed'],
  ['redis-parser', 'Redis client, not attributed'],
]);

function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = url.slice(at + 13).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

function ourStep(url: string): Step | undefined {
  const at = url.indexOf('/src/');
  if (at < 0 || url.includes('node_modules/')) return undefined;
  const path = url.slice(at + 1);
  return OURS.find(([prefix]) => path.startsWith(prefix))?.[1];
}

/** CPU microseconds per request by step (idle time left out), over `requests` served while profiling. */
export function stepsPerRequest(profile: CpuProfile, requests: number): Record<Step, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stepOfNode = new Map<number, Step | null>();
  const classify = (leaf: number): Step | null => {
    const known = stepOfNode.get(leaf);
    if (known !== undefined) return known;
    const { functionName, url } = byId.get(leaf)!.callFrame;
    let step: Step | null = null;
    if (functionName === '(idle)') step = null;
    else if (functionName === '(garbage collector)') step = 'garbage collector';
    else {
      let client: Step | undefined;
      for (let at: number | undefined = leaf; at !== undefined && !step; at = parent.get(at)) {
        const frameUrl = byId.get(at)!.callFrame.url;
        const pkg = packageOf(frameUrl) ?? '';
        step = ourStep(frameUrl) ?? (FRAMEWORKS.has(pkg) ? (client ?? FRAMEWORKS.get(pkg)!) : null);
        client ??= CLIENTS.get(pkg);
      }
      step ??=
        client ??
        (url.startsWith('node:_http') || url.startsWith('node:net') ? 'HTTP, body, routing (Node.js, express)' : 'other (promises, timers, Node.js internals)');
    }
    stepOfNode.set(leaf, step);
    return step;
  };
  const totals = Object.fromEntries(STEPS.map((step) => [step, 0])) as Record<Step, number>;
  profile.samples.forEach((id, i) => {
    const step = classify(id);
    if (step) totals[step] += profile.timeDeltas[i] ?? 0;
  });
  for (const step of STEPS) totals[step] /= Math.max(1, requests);
  return totals;
}
