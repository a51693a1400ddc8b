import { execute, parse, subscribe, type GraphQLSchema } from 'graphql';
import type { Viewer } from '../../src/auth/viewer';
import { enforceAccessAtRootFields } from '../../src/gateway/field-access';
import { buildGatewaySchema } from '../../src/gateway/schema';

/**
 * Defence in depth: executed directly, with no guard in front, every root field that is not
 * public still refuses a caller without a key, and admin fields a subscriber's key.
 */
describe('access enforced at the root fields themselves', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = enforceAccessAtRootFields(await buildGatewaySchema());
  });

  const viewer = (role: 'ADMIN' | 'SUBSCRIBER') =>
    ({ key: { id: 'k', accountId: 'a', role }, access: { account: { id: 'a' }, plan: { code: 'FREE', grants: [] }, limits: {} } }) as unknown as Viewer;
  const services = { accounts: { create: jest.fn(), setPlan: jest.fn() }, plans: { update: jest.fn() } };
  const run = async (query: string, auth: { viewer?: Viewer }) => {
    const result = await execute({ schema, document: parse(query), contextValue: { auth, services, log: () => console } });
    return result.errors?.map((error) => error.extensions.code);
  };

  it.each([
    ['{ me { key { id } } }', undefined, 'UNAUTHENTICATED'],
    ['{ accounts { nodes { email } } }', undefined, 'UNAUTHENTICATED'],
    ['{ accounts { nodes { email } } }', 'SUBSCRIBER', 'FORBIDDEN'],
    ['mutation { setAccountPlan(accountId: "a", planCode: ENTERPRISE) { id } }', 'SUBSCRIBER', 'FORBIDDEN'],
    ['mutation { updatePlan(code: FREE, input: { dailyQuota: 1 }) { code } }', 'SUBSCRIBER', 'FORBIDDEN'],
    ['mutation { createAccount(input: { name: "x", email: "x@example.com", planCode: FREE }) { id } }', undefined, 'UNAUTHENTICATED'],
  ] as const)('%s as %s: %s, and the resolver never runs', async (query, role, code) => {
    expect(await run(query, { viewer: role && viewer(role) })).toEqual([code]);
    expect(services.accounts.create).not.toHaveBeenCalled();
    expect(services.accounts.setPlan).not.toHaveBeenCalled();
    expect(services.plans.update).not.toHaveBeenCalled();
  });

  it('lets public fields through without a key', async () => {
    expect(await run('{ health { status } }', {})).toBeUndefined();
  });

  it('refuses to start a subscription without a key', async () => {
    const result = await subscribe({ schema, document: parse('subscription { riskScoreUpdated { score } }'), contextValue: { auth: {}, services } });
    expect('errors' in result && result.errors?.map((error) => error.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});
