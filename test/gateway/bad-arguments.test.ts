import { randomUUID } from 'node:crypto';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { buildGatewaySchema } from '../../src/gateway/schema';
import { startTestGateway, type TestGateway } from '../support/harness';

/**
 * Whatever an authorised caller puts in a root field's arguments, the answer is data or a typed
 * error: never INTERNAL_SERVER_ERROR or an error without a code, never a 500 (a 503 of a service
 * this gateway is not configured with is a typed answer). Driven by the schema, so a field added
 * later is swept too: every Query and Mutation field that takes arguments, called by the ADMIN,
 * SUBSCRIBER and PUBLISHER keys of ENTERPRISE accounts and a FREE subscriber's, with what
 * clients get wrong: ids of nothing, ids that are not ids, empty and long strings, negative, zero
 * and huge numbers, far and impossible dates, empty and oversized lists, every input object field
 * filled the same way.
 */

const VARIANTS = 4;
const LONG = 'x'.repeat(300);

/** How long a subscription with bad arguments may stay silent before it counts as accepted (it waits for events). */
const SILENCE_MS = 300;

/** Variant `k`'s value of a leaf type, by its name. */
function leafValue(name: string, k: number): unknown {
  const pools: Record<string, unknown[]> = {
    ID: [randomUUID(), 'not-an-id', '', LONG],
    String: ['', LONG, randomUUID(), 'not a thing'],
    Int: [-1, 0, 2_147_483_647, 1],
    Float: [-1, 0, 1e308, 0.5],
    Boolean: [true, false, true, false],
    DateTime: ['1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.000Z', new Date().toISOString(), '2026-02-30T00:00:00Z'],
    JSON: [{}, [], 'text', { nested: { deep: [1, 2, 3] } }],
  };
  const pool = pools[name];
  if (!pool) throw new Error(`no values for the scalar ${name}: add some`);
  return pool[k % pool.length];
}

/** Variant `k`'s value of an argument; only the argument's own list is made empty or oversized (lists inside it hold one item). */
function argumentValue(type: GraphQLInputType, k: number, nested = false): unknown {
  if (isNonNullType(type)) return argumentValue(type.ofType, k, nested);
  if (isListType(type)) {
    const item = argumentValue(type.ofType, k, true);
    if (nested) return [item];
    // Empty, more than any list argument allows, and one.
    return k === 0 ? [] : k === 1 ? Array.from({ length: 5_000 }, () => item) : [item];
  }
  const named = getNamedType(type);
  if (isEnumType(named)) {
    const values = named.getValues();
    return values[k % values.length].name;
  }
  if (isInputObjectType(named)) return Object.fromEntries(Object.values(named.getFields()).map((field) => [field.name, argumentValue(field.type, k, true)]));
  return leafValue(named.name, k);
}

function operationOf(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>): string {
  const variables = field.args.map((arg, i) => `$a${i}: ${String(arg.type)}`).join(', ');
  const args = field.args.map((arg, i) => `${arg.name}: $a${i}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  return `${kind}(${variables}) { ${field.name}(${args})${selection} }`;
}

describe('bad arguments to every root field', () => {
  let gateway: TestGateway;
  let adminKey: string;
  /** A key of each role, and a FREE plan's: a field runs other branches for a subscriber, a publisher or a plan without its grants than for an admin. */
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    gateway = await startTestGateway();
    const callers = [
      ['ADMIN', 'ENTERPRISE'],
      ['SUBSCRIBER', 'ENTERPRISE'],
      ['PUBLISHER', 'ENTERPRISE', ['risk']],
      ['SUBSCRIBER', 'FREE'],
    ] as const;
    for (const [role, plan, domains] of callers) {
      const made = await gateway.newKey({ plan, role, domains: domains && [...domains] });
      await gateway.services.accounts.setOverrides(
        made.accountId,
        { burstPerSecond: 1_000_000, dailyQuota: 1_000_000_000, maxQueryCost: 1_000_000 },
        { type: 'system:test' },
      );
      keys[`${role} of ${plan}`] = made.key;
    }
    adminKey = keys['ADMIN of ENTERPRISE'];
  });
  afterAll(() => gateway?.stop());

  it('never answers INTERNAL_SERVER_ERROR, an error without a code or a 500', async () => {
    const schema = await buildGatewaySchema();
    const roots: Array<['query' | 'mutation', GraphQLObjectType | null | undefined]> = [
      ['query', schema.getQueryType()],
      ['mutation', schema.getMutationType()],
    ];
    const failures: string[] = [];
    let calls = 0;
    for (const [kind, root] of roots) {
      for (const field of Object.values(root?.getFields() ?? {})) {
        if (!field.args.length) continue;
        const query = operationOf(kind, field);
        for (const [role, key] of Object.entries(keys)) {
          for (let k = 0; k < VARIANTS; k++) {
            const variables = Object.fromEntries(field.args.map((arg, i) => [`a${i}`, argumentValue(arg.type, k)]));
            const { status, body } = await gateway.query(query, { key, variables });
            calls++;
            const internal = (body.errors ?? []).filter((error) => error.extensions?.code === 'INTERNAL_SERVER_ERROR' || !error.extensions?.code);
            if (status === 500 || internal.length)
              failures.push(
                `${field.name} as ${role} (variant ${k}): HTTP ${status} ${JSON.stringify(internal.length ? internal : body.errors).slice(0, 300)}`,
              );
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(500);
    expect(failures).toEqual([]);
  }, 120_000);

  it('refuses bad arguments to a live feed with a typed error, or opens it; never an internal error or a dropped socket', async () => {
    const schema = await buildGatewaySchema();
    const failures: string[] = [];
    const refused: string[] = [];
    for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
      if (!field.args.length) continue;
      for (let k = 0; k < VARIANTS; k++) {
        const variables = Object.fromEntries(field.args.map((arg, i) => [`a${i}`, argumentValue(arg.type, k)]));
        const client = createClient({
          url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${adminKey}` },
          retryAttempts: 0,
        });
        const typed = (errors: ReadonlyArray<{ extensions?: Record<string, unknown> }>) =>
          errors.every((error) => error.extensions?.code && error.extensions.code !== 'INTERNAL_SERVER_ERROR');
        const answer = await new Promise<string | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), SILENCE_MS);
          const done = (what: string | undefined) => {
            clearTimeout(timer);
            resolve(what);
          };
          client.subscribe(
            { query: operationOf('subscription', field), variables },
            {
              next: (result) => {
                if (result.errors && typed(result.errors)) refused.push(`${field.name} ${k}`);
                done(result.errors && !typed(result.errors) ? JSON.stringify(result) : undefined);
              },
              error: (error) => {
                if (Array.isArray(error) && typed(error)) refused.push(`${field.name} ${k}`);
                done(Array.isArray(error) && typed(error) ? undefined : JSON.stringify(error));
              },
              complete: () => done(undefined),
            },
          );
        });
        await client.dispose();
        if (answer) failures.push(`${field.name} (variant ${k}): ${answer.slice(0, 300)}`);
      }
    }
    expect(failures).toEqual([]);
    // The lists of 5,000 ids are over every feed's limit: refused, not opened.
    expect(refused.filter((call) => call.endsWith(' 1')).length).toBeGreaterThan(0);
  }, 60_000);
});
