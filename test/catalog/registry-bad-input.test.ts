import { startTestGateway, type TestGateway } from '../support/harness';

/**
 * Every route of the schema registry (Confluent's REST API) with what clients and attackers get
 * wrong: subjects and versions that are not, bodies that are not JSON or not the right JSON, schemas
 * that are not Avro, are pathologically nested or large. The answer is always the registry's own
 * error shape (`error_code`, `message`) with a 4xx, or a success: never a 500.
 */

const SUBJECTS = ['customer-risk-scores-value', 'no-such-subject', 'x'.repeat(2_000), 'ünïcödé subject', '..', '%00'];
const VERSIONS = ['latest', '-1', '0', '-2', '1', '99999999999', 'abc', '1.5'];
const nested = (depth: number) => `${'{"type":"array","items":'.repeat(depth)}"string"${'}'.repeat(depth)}`;
const BODIES: unknown[] = [
  'not json',
  '[]',
  '{}',
  { schema: 5 },
  { schema: 'not json' },
  { schema: '{"type":"record"}' },
  { schema: '"string"', schemaType: 'PROTOBUF' },
  { schema: '"string"', references: [{ name: 'x', subject: 'y', version: 1 }] },
  { schema: nested(5_000) },
  { schema: JSON.stringify({ type: 'record', name: 'Wide', fields: Array.from({ length: 5_000 }, (_, i) => ({ name: `f${i}`, type: 'string' })) }) },
  { compatibility: 'NOT_A_LEVEL' },
  { compatibility: 'BACKWARD' },
];

describe('schema registry: bad input on every route', () => {
  let gateway: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    admin = (await gateway.newKey({ role: 'ADMIN', plan: 'ENTERPRISE' })).key;
  });
  afterAll(() => gateway?.stop());

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}/registry${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body !== undefined ? { 'content-type': 'application/vnd.schemaregistry.v1+json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json: json as { error_code?: unknown; message?: unknown } | undefined };
  };

  it('answers a 4xx in the registry error shape, or a success, never a 500', async () => {
    const requests: Array<[string, string, unknown?]> = [];
    for (const subject of SUBJECTS) {
      const s = encodeURIComponent(subject);
      requests.push(['GET', `/subjects/${s}/versions`], ['GET', `/config/${s}`]);
      for (const version of VERSIONS) {
        requests.push(['GET', `/subjects/${s}/versions/${version}`], ['GET', `/subjects/${s}/versions/${version}/schema`]);
        for (const body of BODIES) requests.push(['POST', `/compatibility/subjects/${s}/versions/${version}`, body]);
      }
      for (const body of BODIES) requests.push(['POST', `/subjects/${s}/versions`, body], ['POST', `/subjects/${s}`, body], ['PUT', `/config/${s}`, body]);
      requests.push(['DELETE', `/subjects/${s}`]);
    }
    for (const id of ['1', '0', '-1', 'abc', '99999999999']) requests.push(['GET', `/schemas/ids/${id}`]);
    for (const body of BODIES) requests.push(['PUT', '/config', body]);

    const failures: string[] = [];
    const statuses: Record<number, number> = {};
    for (const [method, path, body] of requests) {
      const { status, text, json } = await call(method, path, body);
      statuses[status] = (statuses[status] ?? 0) + 1;
      const shaped = typeof json?.error_code === 'number' && typeof json.message === 'string';
      if (status >= 500 || (status >= 400 && !shaped))
        failures.push(`${method} ${path.slice(0, 120)} ${JSON.stringify(body)?.slice(0, 80)}: ${status} ${text.slice(0, 200)}`);
    }
    // The sweep reached the handlers: answers found, not found and refused as invalid.
    expect(Object.keys(statuses).map(Number)).toEqual(expect.arrayContaining([200, 404, 422]));
    expect(requests.length).toBeGreaterThan(500);
    expect(failures).toEqual([]);
  }, 180_000);
});
