import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The keyed operators' Prometheus metrics (every operator but the risk scorer, labelled by its data product), once per registry. */
export function operatorMetrics(registry: Registry): OperatorMetrics {
  let metrics = cache.get(registry);
  if (!metrics) {
    metrics = create(registry);
    cache.set(registry, metrics);
  }
  return metrics;
}

export type OperatorMetrics = ReturnType<typeof create>;

const cache = new WeakMap<Registry, OperatorMetrics>();

function create(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'tollgraph_operator_events_total',
      help: 'Records read by a stream operator, by outcome: applied, duplicate (changed nothing) or invalid (sent to the DLQ); counted at checkpoints',
      labelNames: ['operator', 'outcome'] as const,
      registers,
    }),
    dlq: new Counter({
      name: 'tollgraph_operator_dlq_total',
      help: 'Records a stream operator sent to the dead-letter topic, by reason',
      labelNames: ['operator', 'reason'] as const,
      registers,
    }),
    batchDuration: new Histogram({
      name: 'tollgraph_operator_batch_duration_seconds',
      help: 'Processing time of one batch of a stream operator: decode, apply, sinks',
      labelNames: ['operator'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    lag: new Gauge({
      name: 'tollgraph_operator_consumer_lag',
      help: 'Records in the partition after the last one the operator processed',
      labelNames: ['operator', 'topic', 'partition'] as const,
      registers,
    }),
  };
}
