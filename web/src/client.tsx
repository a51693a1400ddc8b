import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, graphqlRequest, type ApiEvents } from './api';

export interface Api {
  key: string;
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

const ApiContext = createContext<Api | null>(null);

export function ApiProvider({ apiKey, events, children }: { apiKey: string; events: ApiEvents; children: ReactNode }) {
  // The events object changes on every render of the shell; read it through a ref.
  const eventsRef = useRef(events);
  eventsRef.current = events;
  const [api] = useState<Api>(() => ({
    key: apiKey,
    request: <T,>(query: string, variables?: Record<string, unknown>) =>
      graphqlRequest<T>(apiKey, query, variables, {
        onCost: (cost) => eventsRef.current.onCost?.(cost),
        onError: (error) => eventsRef.current.onError?.(error),
      }),
  }));
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}

export interface QueryState<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  /** Fetch again now (keeps the current data on screen meanwhile). */
  reload(): void;
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError({ status: 0, code: 'ERROR', message: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs a query when the component mounts or its variables change, and every `pollMs` while the
 * page is visible (for the free queries: rateLimit, me, usage, catalog).
 */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, options: { pollMs?: number; skip?: boolean } = {}): QueryState<T> {
  const api = useApi();
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: !options.skip });
  const [tick, setTick] = useState(0);
  const vars = JSON.stringify(variables);
  const reload = useCallback(() => setTick((n) => n + 1), []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `tick` is the reload trigger; `vars` stands for `variables` by value
  useEffect(() => {
    if (options.skip) return;
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    api.request<T>(query, JSON.parse(vars) as Record<string, unknown>).then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState((previous) => ({ data: previous.data, error: asApiError(error), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [api, query, vars, tick, options.skip]);

  useEffect(() => {
    if (!options.pollMs || options.skip) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, options.pollMs);
    return () => window.clearInterval(timer);
  }, [options.pollMs, options.skip, reload]);

  return { ...state, reload };
}

/** A mutation with its own busy flag, error and result. */
export function useMutation<T, V extends Record<string, unknown> = Record<string, unknown>>(query: string) {
  const api = useApi();
  const [state, setState] = useState<{ busy: boolean; error?: ApiError; data?: T }>({ busy: false });
  const run = useCallback(
    async (variables: V): Promise<T | undefined> => {
      setState({ busy: true });
      try {
        const data = await api.request<T>(query, variables);
        setState({ busy: false, data });
        return data;
      } catch (error) {
        setState({ busy: false, error: asApiError(error) });
        return undefined;
      }
    },
    [api, query],
  );
  const reset = useCallback(() => setState({ busy: false }), []);
  return { ...state, run, reset };
}
