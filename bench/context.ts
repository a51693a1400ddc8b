import type { ServiceName } from './lib/common';

/** What every benchmark gets from the runner. */
export interface BenchContext {
  /** A few seconds per benchmark, to prove they work (CI), instead of the full runs. */
  smoke: boolean;
  urls: Record<ServiceName, string>;
  /** Where children write CPU profiles (`--profile`); undefined: no profiling. */
  profileDir?: string;
  log(line: string): void;
}
