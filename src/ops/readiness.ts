/** A dependency the gateway needs to serve traffic, checked by `/readyz`. */
export interface DependencyCheck {
  name: string;
  check(): Promise<void>;
}

export interface DependencyStatus {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  dependencies: Record<string, DependencyStatus>;
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
  return { ready: entries.every(([, status]) => status.ok), dependencies: Object.fromEntries(entries) };
}
