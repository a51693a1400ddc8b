import { parse, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { actualCost } from '../../src/cost/actual';
import { analyzeOperation, analyzeOperationOnce, fragmentsOf } from '../../src/cost/analyze';
import { buildGatewaySchema } from '../../src/gateway/schema';

describe('query cost from the document, before execution', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGatewaySchema();
  });

  const analyze = (query: string, variables: Record<string, unknown> = {}) => {
    const document = parse(query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const context = { schema, fragments: fragmentsOf(document), variables };
    return {
      ...analyzeOperation(operation, context),
      actual: (data: Record<string, unknown>, requested: number) => actualCost(operation, data, context, requested),
    };
  };

  it('charges objects, not scalars: one account is 1, its key list adds 1', () => {
    expect(analyze('{ account(id: "a") { id name } }')).toMatchObject({ cost: 1, depth: 2, aliases: 0, rootFields: 1 });
    expect(analyze('{ account(id: "a") { id apiKeys { id } } }').cost).toBe(2);
  });

  it('sizes a connection by its first argument, literal or variable, or the default', () => {
    expect(analyze('{ accounts(first: 50) { nodes { id } pageInfo { hasNextPage } } }').cost).toBe(1 + 50 + 1);
    expect(analyze('query($n: Int) { accounts(first: $n) { nodes { id } } }', { n: 7 }).cost).toBe(1 + 7);
    expect(analyze('{ accounts { nodes { id } } }').cost).toBe(1 + 50);
    // A variable left out takes the operation's declared default, else the field's.
    expect(analyze('query($n: Int = 30) { accounts(first: $n) { nodes { id } } }').cost).toBe(1 + 30);
    expect(analyze('query($n: Int) { accounts(first: $n) { nodes { id } } }').cost).toBe(1 + 50);
  });

  it("remembers an operation's analysis only when no variable decided its cost", () => {
    const once = (query: string) => {
      const document = parse(query);
      const operation = document.definitions[0] as OperationDefinitionNode;
      return (variables: Record<string, unknown>) => analyzeOperationOnce(operation, { schema, fragments: fragmentsOf(document), variables }).cost;
    };
    const sized = once('query($n: Int) { accounts(first: $n) { nodes { id } } }');
    expect([sized({ n: 7 }), sized({ n: 20 }), sized({})]).toEqual([1 + 7, 1 + 20, 1 + 50]);
    const defaulted = once('query($n: Int = 30) { accounts(first: $n) { nodes { id } } }');
    expect([defaulted({}), defaulted({ n: 5 })]).toEqual([1 + 30, 1 + 5]);
    const fixed = once('query($id: ID!) { account(id: $id) { id apiKeys { id } } }');
    expect([fixed({ id: 'a' }), fixed({ id: 'b' })]).toEqual([2, 2]);
  });

  it('makes free fields free: health, plans, me and rateLimit', () => {
    expect(analyze('{ health { status } plans { code } me { account { id } plan { code } } rateLimit { remaining } }').cost).toBe(0);
  });

  it('counts through fragments and counts aliases and depth', () => {
    const result = analyze('query { a: account(id: "1") { ...F } b: account(id: "2") { ...F } } fragment F on Account { id apiKeys { id } }');
    expect(result).toMatchObject({ cost: 4, aliases: 2, depth: 3, rootFields: 2 });
  });

  it("leaves introspection out of cost and of the plan's depth (the document's shape limits bound it), but counts its aliases", () => {
    expect(analyze('{ __schema { types { name fields { type { ofType { ofType { name } } } } } } }')).toMatchObject({ cost: 0, depth: 0 });
    expect(analyze('{ __schema { a: types { name } b: types { name } } }').aliases).toBe(2);
  });

  it('charges what GraphQL executes: a field named again, or a fragment spread again, merges into one', () => {
    expect(analyze(`{ ${'account(id: "a") { id } '.repeat(20)} }`)).toMatchObject({ cost: 1, rootFields: 1 });
    expect(analyze('{ account(id: "a") { id } account(id: "a") { apiKeys { id } } }').cost).toBe(2);
    expect(analyze('{ ...F ...F ...G } fragment F on Query { account(id: "a") { id } } fragment G on Query { ...F }').cost).toBe(1);
    // Different aliases are different executions.
    expect(analyze('{ a: account(id: "a") { id } b: account(id: "a") { id } }').cost).toBe(2);
    const { cost, actual } = analyze(`{ ${'account(id: "a") { id apiKeys { id } } '.repeat(3)} }`);
    expect(cost).toBe(2);
    expect(actual({ account: { id: 'a', apiKeys: [{ id: 'k' }] } }, cost)).toBe(2);
  });

  it('takes the actual cost from what came back: nulls and short lists cost less, never more than asked', () => {
    const { cost, actual } = analyze('{ accounts(first: 50) { nodes { id } } other: account(id: "x") { id } }');
    expect(cost).toBe(52);
    expect(actual({ accounts: { nodes: [{ id: '1' }, { id: '2' }] }, other: null }, cost)).toBe(3);
    expect(actual({}, cost)).toBe(0);
  });

  it('prices each result of a remembered operation by what it holds, a fragment by where it is spread', () => {
    // The same parsed operation priced again (as Apollo hands it back) with other data.
    const { cost, actual } = analyze('{ accounts(first: 50) { nodes { id apiKeys { id } } } }');
    expect(actual({ accounts: { nodes: [{ id: '1', apiKeys: [{ id: 'k' }, { id: 'l' }] }] } }, cost)).toBe(1 + 1 + 2);
    const nodes = [
      { id: '1', apiKeys: null },
      { id: '2', apiKeys: [] },
    ];
    expect(actual({ accounts: { nodes } }, cost)).toBe(1 + 2);
    expect(actual({ accounts: null }, cost)).toBe(0);
    // One fragment spread at two places, merged with a different selection at each.
    const spread = analyze(`
      { first: account(id: "a") { ...Keys apiKeys { prefix } } second: account(id: "b") { ...Keys } }
      fragment Keys on Account { apiKeys { id } }
    `);
    const keys = [{ id: 'k', prefix: 'p' }];
    expect(spread.actual({ first: { apiKeys: keys }, second: { apiKeys: keys } }, spread.cost)).toBe(2 + 2);
    expect(spread.actual({ first: null, second: { apiKeys: [...keys, ...keys] } }, spread.cost)).toBe(1 + 2);
  });
});
