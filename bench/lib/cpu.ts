import { readdirSync, readFileSync } from 'node:fs';
// Shared with the tests: one copy.
import { cpuSeconds } from '../../test/support/process';

/** Processes whose command line starts with `prefix` (e.g. Postgres backends of one database). */
export function processesStartingWith(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').startsWith(prefix)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * The services' processes on this machine, by name: the PostgreSQL backends of one database (its
 * URL), Redis, and the Kafka broker (the only JVM the benchmarks run, scripts/services.sh).
 */
export function serviceProcesses(databaseUrl: string): Record<'postgres' | 'redis' | 'broker', () => number[]> {
  const database = new URL(databaseUrl);
  return {
    postgres: () => processesStartingWith(`postgres: ${decodeURIComponent(database.username)} ${database.pathname.slice(1)} `),
    redis: () => processesStartingWith('redis-server'),
    broker: () => processesStartingWith('java'),
  };
}

/**
 * CPU microseconds per request spent by each group of processes over a stretch of load: where
 * the machine's time goes (the server, and the services it calls), beside the throughput.
 */
export function startCpuMeter<K extends string>(sources: Record<K, () => number[]>): { perRequest(requests: number): Record<K, number> } {
  const before = new Map<number, number>();
  const groups = Object.entries(sources) as Array<[K, () => number[]]>;
  for (const [, pids] of groups) for (const pid of pids()) before.set(pid, cpuSeconds(pid));
  return {
    perRequest: (requests) =>
      Object.fromEntries(
        groups.map(([name, pids]) => {
          const used = pids().reduce((sum, pid) => sum + cpuSeconds(pid) - (before.get(pid) ?? 0), 0);
          return [name, (used * 1e6) / Math.max(1, requests)];
        }),
      ) as Record<K, number>,
  };
}

/** The machine's CPU time so far, from /proc/stat: all of it, idle (with I/O wait), and stolen by the hypervisor. */
function machineTicks(): { total: number; idle: number; steal: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const total = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0);
  return { total, idle: ticks[3] + ticks[4], steal: ticks[7] };
}

/** Over a stretch of load: the share of the machine's CPU time that was busy, and the share the hypervisor took. */
export function startMachineMeter(): { stop(): { busy: number; steal: number } } {
  const before = machineTicks();
  return {
    stop() {
      const after = machineTicks();
      const total = Math.max(1, after.total - before.total);
      return { busy: 1 - (after.idle - before.idle) / total, steal: (after.steal - before.steal) / total };
    },
  };
}
