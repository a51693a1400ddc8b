import { ConfigError, loadConfig } from '../../src/config/load';

/** What the configuration says is wrong with `env`, each problem naming its variable; [] when it loads. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}
