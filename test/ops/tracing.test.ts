import { createServer, type Server } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/load';
import { tracesEndpoint, tracing } from '../../src/ops/tracing';
import { graphql, startGatewayProcess, waitFor, type RunningProcess } from '../support/process';
import { consumerProcess, readTopic, record, riskEnv, workedExample, type RiskEnv } from '../risk/support';

interface ExportedSpan {
  service: string;
  scope: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type OtlpAttribute = { key: string; value: OtlpValue };

const otlpValue = (value: OtlpValue) => value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue));
const attributes = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, otlpValue(value)]));

/** An OTLP/HTTP (JSON) collector: what Jaeger or an OpenTelemetry Collector would receive on /v1/traces. */
async function otlpCollector(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body.toString()) as {
          resourceSpans: Array<{
            resource: { attributes: OtlpAttribute[] };
            scopeSpans: Array<{
              scope: { name: string };
              spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: OtlpAttribute[] }>;
            }>;
          }>;
        };
        for (const { resource, scopeSpans } of payload.resourceSpans) {
          const service = String(attributes(resource.attributes)['service.name']);
          for (const { scope, spans: list } of scopeSpans) {
            for (const span of list)
              spans.push({
                service,
                scope: scope.name,
                name: span.name,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                attributes: attributes(span.attributes),
              });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('tracing configuration', () => {
  it('is off unless an OTLP endpoint is configured (the SDK is not loaded), and OTEL_SDK_DISABLED wins', () => {
    expect(tracesEndpoint(loadConfig({}))).toBeUndefined();
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }))).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' }))).toBe(
      'http://b:4318/traces',
    );
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }))).toBeUndefined();
    // This test process never started tracing: nothing of the SDK was required.
    expect(tracing.on).toBe(false);
    expect(Object.keys(require.cache).some((path) => path.includes('@opentelemetry/sdk-trace'))).toBe(false);
  });

  it('names the variable and what it expects', () => {
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER: expected parentbased_always_on, .*got "sometimes"/);
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG: expected a sampling ratio between 0 and 1/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT: expected/);
  });
});

/**
 * One event's trace across processes: a producer's `traceparent` header on a transaction ->
 * the consumer process's scoring span (and its Postgres / Redis work) -> the risk-scores message
 * header -> the pub/sub announcement -> the gateway process's delivery to a subscriber. And one
 * request's trace through the gateway: HTTP, GraphQL, Redis (quota) and Postgres (the key).
 */
describe('traces across gateway, Kafka and consumer (OTLP to a collector)', () => {
  let env: RiskEnv;
  let collector: Awaited<ReturnType<typeof otlpCollector>>;
  let gateway: RunningProcess;
  let consumer: Awaited<ReturnType<typeof consumerProcess>>;
  let client: Client | undefined;
  let key: string;

  beforeAll(async () => {
    collector = await otlpCollector();
    env = await riskEnv();
    const traced = { ...env.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '100' };
    gateway = await startGatewayProcess(traced);
    consumer = await consumerProcess(traced);
    key = await newKey();
  }, 120_000);

  const newKey = async () => {
    const suffix = hex(4);
    const system = { type: 'system:test' } as const;
    const account = await env.services.accounts.create({ name: `Tracing ${suffix}`, email: `tracing-${suffix}@example.com`, planCode: 'ENTERPRISE' }, system);
    return (await env.services.keys.create({ accountId: account.id, name: 'tracing', role: 'SUBSCRIBER' }, system)).secret;
  };

  afterAll(async () => {
    await client?.dispose();
    await consumer?.kill('SIGTERM');
    await gateway?.stop();
    await env?.close();
    await collector?.close();
  });

  it('puts the consumer and the gateway in the trace of the event, with the Postgres and Redis work of its batch', async () => {
    const customerId = `c-trace-${hex(4)}`;
    const received: Array<{ eventId: string }> = [];
    client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    client.subscribe(
      { query: 'subscription($ids: [ID!]) { riskScoreUpdated(customerIds: $ids) { eventId score } }', variables: { ids: [customerId] } },
      { next: (result) => void received.push(result.data!.riskScoreUpdated as { eventId: string }), error: () => undefined, complete: () => undefined },
    );
    // The subscription listens once the gateway has subscribed to the scores channel: probe by sending untraced events until one arrives.
    const example = workedExample()[0].event;
    const untraced: Array<{ eventId: string }> = [];
    await waitFor(
      'an untraced score to reach the subscriber',
      async () => {
        const probe = { ...example, customerId, eventId: randomUUID(), timestamp: new Date(Date.now() - 60_000 + untraced.length).toISOString() };
        untraced.push(probe);
        await env.produce([record(probe)]);
        await new Promise((resolve) => setTimeout(resolve, 500));
        return received.length > 0;
      },
      30_000,
      0,
    );

    const traceId = hex(16);
    const producerSpanId = hex(8);
    const event = { ...example, customerId, eventId: randomUUID(), timestamp: new Date().toISOString() };
    await env.produce([{ ...record(event), headers: { traceparent: `00-${traceId}-${producerSpanId}-01` } }]);
    await waitFor('the traced score to reach the subscriber', async () => received.some((score) => score.eventId === event.eventId), 30_000, 50);

    const inTrace = () => collector.spans.filter((span) => span.traceId === traceId);
    const find = (service: string, name: string) => inTrace().find((span) => span.service === service && span.name === name);
    await waitFor(
      'the consumer and gateway spans of the event',
      async () =>
        find('tollgraph-consumer', `process ${env.topics.transactions}`) !== undefined && find('tollgraph-gateway', 'deliver riskScoreUpdated') !== undefined,
      20_000,
      100,
    ).catch((error) => {
      throw new Error(
        `${(error as Error).message}; spans of the trace: ${JSON.stringify(inTrace().map(({ service, name }) => `${service} ${name}`))}; all: ${JSON.stringify([...new Set(collector.spans.map(({ service, name }) => `${service} ${name}`))])}\n${consumer.output().slice(-3000)}`,
      );
    });

    const scoring = find('tollgraph-consumer', `process ${env.topics.transactions}`)!;
    expect(scoring.parentSpanId).toBe(producerSpanId);
    expect(scoring.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'risk.customer_id': customerId,
      'risk.event_id': event.eventId,
      'messaging.destination.name': env.topics.transactions,
    });
    const delivery = find('tollgraph-gateway', 'deliver riskScoreUpdated')!;
    expect(delivery.parentSpanId).toBe(scoring.spanId);
    expect(delivery.attributes).toMatchObject({ 'risk.event_id': event.eventId, 'tollgraph.subscribers': 1 });

    // The batch's sinks (history in Postgres, the announcement in Redis, the latest score by the consumer's latest-score thread) are in the trace too.
    await waitFor(
      'the Postgres and Redis spans of the batch',
      async () => {
        const scopes = new Set(
          inTrace()
            .filter((span) => span.service === 'tollgraph-consumer')
            .map((span) => span.scope),
        );
        return (
          scopes.has('@opentelemetry/instrumentation-pg') &&
          scopes.has('@opentelemetry/instrumentation-ioredis') &&
          find('tollgraph-consumer', 'latest scores') !== undefined
        );
      },
      10_000,
      100,
    );

    // The untraced event made no span of its own: tracing is decided per event by its producer.
    expect(collector.spans.filter((span) => untraced.some((probe) => span.attributes['risk.event_id'] === probe.eventId))).toEqual([]);

    // The risk-scores message carries the trace on to its own consumers.
    const scores = await readTopic(env.kafka, env.topics.scores, untraced.length + 1);
    const message = scores.find((m) => JSON.parse(m.value!.toString()).eventId === event.eventId)!;
    expect(message.headers.traceparent).toBe(`00-${traceId}-${scoring.spanId}-01`);
    expect(scores.filter((m) => m.headers.traceparent !== undefined)).toHaveLength(1);
  }, 90_000);

  it("continues a caller's trace through the request: HTTP, GraphQL, the quota in Redis and the key in Postgres", async () => {
    const traceId = hex(16);
    const callerSpanId = hex(8);
    // A key this gateway has not seen yet (so it is looked up in Postgres), of an account without a quota lease yet (so Redis is asked).
    const fresh = await newKey();
    const { status } = await graphql(gateway.url, '{ me { account { name } } }', {
      headers: { authorization: `Bearer ${fresh}`, traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(status).toBe(200);
    const inTrace = () => collector.spans.filter((span) => span.traceId === traceId);
    await waitFor(
      'the spans of the request',
      async () => {
        const scopes = new Set(inTrace().map((span) => span.scope));
        return ['http', 'graphql', 'ioredis', 'pg'].every((name) => scopes.has(`@opentelemetry/instrumentation-${name}`));
      },
      10_000,
      100,
    ).catch((error) => {
      throw new Error(`${(error as Error).message}; spans of the trace: ${JSON.stringify(inTrace().map(({ scope, name }) => `${scope} ${name}`))}`);
    });
    const server = inTrace().find((span) => span.scope === '@opentelemetry/instrumentation-http' && span.parentSpanId === callerSpanId);
    expect(server).toMatchObject({ service: 'tollgraph-gateway' });
    // Probes and scrapes are not traced: a traced request right after the probe is exported, the probe is not.
    await fetch(`${gateway.url}/healthz`);
    const marker = hex(16);
    await graphql(gateway.url, '{ health { status } }', { headers: { traceparent: `00-${marker}-${hex(8)}-01` } });
    await waitFor('the request after the probe to be exported', async () => collector.spans.some((span) => span.traceId === marker), 10_000, 50);
    expect(collector.spans.some((span) => span.attributes['url.path'] === '/healthz' || span.attributes['http.target'] === '/healthz')).toBe(false);
  }, 30_000);
});
