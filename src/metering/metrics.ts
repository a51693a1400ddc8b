import { Gauge, Histogram, type Registry } from 'prom-client';
import type { LedgerWrite } from './ledger';
import type { UsageSpool } from './spool';

/**
 * The ledger write is on every billable response's path (record before answering), so its
 * duration is part of every such request's latency: operators should see it on its own.
 */
export function ledgerMetrics(registry: Registry): (write: LedgerWrite) => void {
  const seconds = new Histogram({
    name: 'tollgraph_usage_ledger_write_seconds',
    help: 'Duration of one group-committed usage ledger write (an INSERT, or an append and flush to the usage spool), by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const records = new Histogram({
    name: 'tollgraph_usage_ledger_batch_records',
    help: 'Usage records per group-committed write',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  return (write) => {
    seconds.observe({ outcome: write.ok ? 'ok' : 'error' }, write.seconds);
    records.observe(write.records);
  };
}

export function spoolMetrics(registry: Registry, spool: UsageSpool): void {
  new Gauge({
    name: 'tollgraph_usage_spool_unshipped_records',
    help: "Usage records durable in this process's local spool and not yet shipped to the ledger's table",
    registers: [registry],
    collect() {
      this.set(spool.unshipped);
    },
  });
}
