import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { getIntrospectionQuery } from 'graphql';
import { introspectionCachePlugin } from '../../src/gateway/plugins/introspection-cache';
import { buildGatewaySchema } from '../../src/gateway/schema';

/** Introspection answered from memory: executed once per distinct document, the same data every time. */
describe('introspection cache', () => {
  let server: ApolloServer;
  let executions = 0;
  const counting: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async executionDidStart() {
          executions++;
        },
      };
    },
  };

  beforeAll(async () => {
    server = new ApolloServer({ schema: await buildGatewaySchema(), plugins: [introspectionCachePlugin(), counting] });
    await server.start();
  });
  afterAll(() => server?.stop());

  const run = async (query: string, variables?: Record<string, unknown>) => {
    const before = executions;
    const { body } = await server.executeOperation({ query, variables });
    if (body.kind !== 'single') throw new Error('expected a single result');
    return { result: body.singleResult, executed: executions - before };
  };

  it('executes an introspection document once, then answers it from memory with the same data', async () => {
    const first = await run(getIntrospectionQuery());
    expect(first.executed).toBe(1);
    expect(first.result.errors).toBeUndefined();
    const second = await run(getIntrospectionQuery());
    expect(second.executed).toBe(0);
    expect(second.result).toEqual({ data: first.result.data });
    expect(JSON.stringify(second.result.data)).toContain('"riskScore"');
  });

  it('keys on the variables and keeps documents with other fields out', async () => {
    const byName = 'query($name: String!) { __type(name: $name) { name kind } }';
    expect((await run(byName, { name: 'RiskScore' })).executed).toBe(1);
    const other = await run(byName, { name: 'Plan' });
    expect(other.executed).toBe(1);
    expect(other.result.data).toEqual({ __type: { name: 'Plan', kind: 'OBJECT' } });
    expect((await run(byName, { name: 'RiskScore' })).executed).toBe(0);
    // Not introspection alone: executed every time.
    for (let i = 0; i < 2; i++) expect((await run('{ __typename health { status } }')).executed).toBe(1);
    // An answer with errors (a missing variable) is not kept: executed again.
    for (let i = 0; i < 2; i++) {
      const failed = await run(byName, {});
      expect(failed.result.errors?.length).toBe(1);
      expect(failed.executed).toBe(1);
    }
  });
});
