import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The pipeline's Prometheus metrics, registered once per registry (one per Services). */
export function riskMetrics(registry: Registry) {
  let metrics = cache.get(registry);
  if (!metrics) {
    metrics = create(registry);
    cache.set(registry, metrics);
  }
  return metrics;
}

export type RiskMetrics = ReturnType<typeof create>;

const cache = new WeakMap<Registry, RiskMetrics>();

function create(registry: Registry) {
  const registers = [registry];
  return {
    eventsIn: new Counter({
      name: 'tollgraph_risk_events_total',
      help: 'Transactions read by the risk pipeline, by outcome: scored, duplicate (not counted again) or invalid (sent to the DLQ)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    scoresOut: new Counter({ name: 'tollgraph_risk_scores_total', help: 'Scores written (history, latest, outputs)', registers }),
    dlq: new Counter({
      name: 'tollgraph_risk_dlq_total',
      help: 'Transactions sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    late: new Counter({
      name: 'tollgraph_risk_late_events_total',
      help: 'Transactions behind their customer watermark (newest - 5 s); still counted',
      registers,
    }),
    latency: new Histogram({
      name: 'tollgraph_risk_event_to_score_seconds',
      help: 'From a transaction’s event time to its score being durable (live runs only)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'tollgraph_risk_batch_duration_seconds',
      help: 'Processing time of one batch: validate, score, outputs, commit',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    batchSize: new Histogram({
      name: 'tollgraph_risk_batch_size',
      help: 'Messages per batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    lag: new Gauge({
      name: 'tollgraph_risk_consumer_lag',
      help: 'Messages in the partition after the last one this consumer processed',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
  };
}
