import { context, propagation, trace, TraceFlags, ROOT_CONTEXT, SpanKind, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import type { Config } from '../config/schema';
import { VERSION } from './version';

/** The long-running process roles, each its own `service.name` (`tollgraph-<role>`) unless OTEL_SERVICE_NAME says otherwise. */
export type ProcessRole = 'gateway' | 'consumer' | 'replay' | 'billing-worker' | 'archiver' | 'feed';

/**
 * Whether this process exports traces. Hot paths test `tracing.on` before any tracing work, so a
 * process without an OTLP endpoint pays one property read (the SDK and its instrumentations are
 * not even loaded).
 */
export const tracing = { on: false, service: '' };

/** Tollgraph's own spans (pipeline, live delivery, producers); libraries bring theirs through their instrumentations. */
export const tracer = trace.getTracer('tollgraph', VERSION);

let provider: { shutdown(): Promise<void>; forceFlush(): Promise<void> } | undefined;

/** The OTLP/HTTP traces URL the configuration asks for, or undefined (tracing off). */
export function tracesEndpoint(
  config: Pick<Config, 'OTEL_SDK_DISABLED' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>,
): string | undefined {
  if (config.OTEL_SDK_DISABLED) return undefined;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/**
 * Starts OpenTelemetry tracing for this process if an OTLP endpoint is configured (once; later
 * calls are no-ops). Must run before ioredis, pg, express, graphql and http are loaded: their
 * instrumentations patch the modules as they are required. Exports OTLP/HTTP (JSON), with W3C
 * trace context as the propagation format (HTTP headers, Kafka headers, pub/sub messages).
 */
export function startTracing(role: ProcessRole, config: Config): boolean {
  if (provider) return true;
  const url = tracesEndpoint(config);
  if (!url) return false;
  // Loaded only when tracing is on: an untraced process never pays for the SDK.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { TracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, AlwaysOnSampler, AlwaysOffSampler } =
    require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { GraphQLInstrumentation } = require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql');
  const { IORedisInstrumentation } = require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const ratio = config.OTEL_TRACES_SAMPLER_ARG;
  const root = {
    always_on: new AlwaysOnSampler(),
    always_off: new AlwaysOffSampler(),
    traceidratio: new TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    parentbased_always_off: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
    parentbased_traceidratio: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
  }[config.OTEL_TRACES_SAMPLER];

  const service = config.OTEL_SERVICE_NAME ?? `tollgraph-${role}`;
  const tracerProvider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': VERSION, 'service.instance.id': `${process.pid}` }),
    sampler: root,
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  const probes = new Set(['/healthz', '/readyz', '/metrics']);
  registerInstrumentations({
    tracerProvider,
    instrumentations: [
      // Probes and scrapes every few seconds would drown the traces that matter.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => probes.has((request.url ?? '').split('?')[0]) }),
      new ExpressInstrumentation(),
      // One span per operation phase and per non-trivial resolver; list items merged.
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, mergeItems: true }),
      new IORedisInstrumentation(),
      new PgInstrumentation(),
    ],
  });
  provider = tracerProvider;
  tracing.on = true;
  tracing.service = service;
  return true;
}

/**
 * For entry points that run before the configuration is reported: starts tracing if the
 * configuration is valid and asks for it; an invalid one is left for the entry point to report
 * (it exits 2 naming the variables).
 */
export function startTracingFromEnvironment(role: ProcessRole): boolean {
  // Required here, not imported: this runs first in the process, and the config modules must not pull in an instrumented library.
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  try {
    return startTracing(role, loadConfig());
  } catch {
    return false;
  }
}

/** Exports the spans still buffered and stops (at shutdown); bounded so a dead collector cannot hold the exit. */
export async function stopTracing(timeoutMs = 2000): Promise<void> {
  const running = provider;
  provider = undefined;
  tracing.on = false;
  if (!running) return;
  await Promise.race([running.shutdown().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}

type Headers = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** The sampled trace context a message carries (W3C `traceparent` in its headers), or undefined. */
export function sampledContextOf(headers: Headers | undefined): Context | undefined {
  if (!headers || headers.traceparent === undefined) return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  const span = trace.getSpanContext(extracted);
  return span && span.traceFlags & TraceFlags.SAMPLED ? extracted : undefined;
}

/** The trace context of a W3C `traceparent` value, if it is valid and sampled. */
export function contextOfTraceparent(traceparent: string): Context | undefined {
  return sampledContextOf({ traceparent });
}

/** The W3C `traceparent` value that continues `span`'s trace, or undefined when it is not sampled. */
export function traceparentOf(span: Span): string | undefined {
  if (!(span.spanContext().traceFlags & TraceFlags.SAMPLED)) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

/**
 * A PRODUCER span per message sent to `topic`, its context in the message's `traceparent` header
 * when sampled (the consumer continues the trace from it). Returns the function that ends them
 * once the send returned. Call only when `tracing.on`.
 */
export function traceSends(topic: string, messages: Array<{ key?: Buffer | string | null; headers?: Headers }>): (error?: unknown) => void {
  const spans: Span[] = [];
  for (const message of messages) {
    const span = tracer.startSpan(`send ${topic}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.kafka.message.key': message.key ? String(message.key) : undefined,
      },
    });
    const traceparent = traceparentOf(span);
    if (traceparent) message.headers = { ...message.headers, traceparent };
    spans.push(span);
  }
  return (error) => {
    for (const span of spans) {
      if (error) span.recordException(error as Error);
      span.end();
    }
  };
}

/** Runs `work` with `span` as the active span (spans the libraries start inside join its trace). */
export function withSpan<T>(span: Span | undefined, work: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), work) : work();
}
