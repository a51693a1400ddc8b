import { SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { tracer, traceparentOf } from '../ops/tracing';
import type { RiskScoreView } from './view';

/**
 * The scoring of one traced event (its message carried a sampled W3C `traceparent`): a CONSUMER
 * span, child of the producer's, from the batch that scored it until its score was announced to
 * live subscribers. Its context travels on with the score: the `traceparent` header of its
 * risk-scores message and of its pub/sub announcement, where the gateway's delivery span continues
 * the trace. Untraced events cost nothing (sampling is decided by the producer, per event).
 */
const spans = new WeakMap<RiskScoreView, Span>();

export function traceScore(view: RiskScoreView, parent: Context, source: { topic: string; partition: number; offset: number }): Span {
  const span = tracer.startSpan(
    `process ${source.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': source.topic,
        'messaging.destination.partition.id': String(source.partition),
        'messaging.kafka.offset': source.offset,
        'risk.customer_id': view.customerId,
        'risk.event_id': view.eventId,
        'risk.score': view.score,
        'risk.band': view.band,
        'risk.model_version': view.modelVersion,
      },
    },
    parent,
  );
  spans.set(view, span);
  return span;
}

/** The traceparent that continues a traced score's trace (undefined for untraced scores). */
export function scoreTraceparent(view: RiskScoreView): string | undefined {
  const span = spans.get(view);
  return span && traceparentOf(span);
}

/** Ends the spans of traced scores (with the error, if their sinks failed). */
export function endScoreSpans(traced: Span[], error?: unknown): void {
  for (const span of traced) {
    if (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    }
    span.end();
  }
}
