import { startTestGateway, type TestGateway } from '../support/harness';

/** /graphql in a browser, and GET queries from scripts. */
describe('GET /graphql', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway?.stop());

  it("sends a browser to the portal's bundled GraphiQL (no CDN page)", async () => {
    const response = await fetch(`${gateway.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/#/explorer');
  });

  it('still answers a GET query (with the CSRF-prevention header Apollo asks for)', async () => {
    const query = encodeURIComponent('{ health { status } }');
    const response = await fetch(`${gateway.url}/graphql?query=${query}`, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { health: { status: 'ok' } } });
  });
});
