/** A dependency the gateway needs to serve traffic, checked by `/readyz`. */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
  /**
   * False when the gateway keeps serving without it (e.g. Redis under the insurance policy):
   * its failure is reported as `degraded` instead of making the process unready.
   */
  critical?: boolean;
}

export interface DependencyStatus {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  dependencies: Record<string, DependencyStatus>;
  /** Critical dependencies that failed: why the process is not ready. */
  failed: string[];
  /** Non-critical dependencies that failed: serving, but in a fallback mode. */
  degraded: string[];
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Checks every dependency in parallel; a hung dependency costs at most `timeoutMs`. */
export async function checkReadiness(checks: DependencyCheck[], timeoutMs: number): Promise<Readiness> {
  const entries = await Promise.all(
    checks.map(async ({ name, check }): Promise<[string, DependencyStatus]> => {
      const started = performance.now();
      try {
        await withTimeout(check(), timeoutMs, name);
        return [name, { ok: true, latencyMs: Math.round(performance.now() - started) }];
      } catch (error) {
        return [name, { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message }];
      }
    }),
  );
  const down = (critical: boolean) => checks.filter((c, i) => (c.critical ?? true) === critical && !entries[i][1].ok).map((c) => c.name);
  const failed = down(true);
  return { ready: failed.length === 0, dependencies: Object.fromEntries(entries), failed, degraded: down(false) };
}

/**
 * `/readyz` as anyone may ask it, at almost no cost: probes share one check, whose answer serves
 * every probe for `cacheMs` after it started (an orchestrator probes every few seconds; a flood
 * of anonymous probes must not become a flood of database and Redis round trips). 0: each probe
 * checks.
 */
export function sharedReadiness(
  checks: DependencyCheck[],
  timeoutMs: number,
  cacheMs: number,
  clock: () => number = () => performance.now(),
): () => Promise<Readiness> {
  let last: { startedAt: number; readiness: Promise<Readiness> } | undefined;
  return () => {
    const now = clock();
    if (!last || now - last.startedAt >= cacheMs) last = { startedAt: now, readiness: checkReadiness(checks, timeoutMs) };
    return last.readiness;
  };
}
