import { ConfigError, loadConfig } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';

/**
 * Every configuration variable, set to values an operator gets wrong (not a number, negative, out
 * of any range, a bare word, only spaces, far too long): the configuration is either valid or
 * refused with a ConfigError whose every problem names a configuration variable and what it
 * expects. Driven by
 * the schema, so a variable added later is swept too; nothing else may be thrown.
 */
const BAD_VALUES = ['not a value', '-1', '0', '1e999', '99999999999999999999', 'true', 'http://', ' ', 'x'.repeat(10_000), '%00', '../../etc/passwd'];

describe('every configuration variable with bad values', () => {
  it('is accepted, or refused with every problem naming a configuration variable and what it expects', () => {
    const failures: string[] = [];
    let refused = 0;
    const variables = new Set(Object.keys(configSchema.shape));
    for (const name of Object.keys(configSchema.shape)) {
      for (const value of BAD_VALUES) {
        try {
          loadConfig({ [name]: value });
        } catch (error) {
          if (!(error instanceof ConfigError)) {
            failures.push(`${name}=${value.slice(0, 20)}: threw ${String(error).slice(0, 200)}`);
            continue;
          }
          refused++;
          // A pair's missing half is named instead of the variable set (ARCHIVE_S3_ACCESS_KEY_ID without its secret, say).
          const unnamed = error.problems.filter((problem) => !variables.has(/^([A-Z][A-Z0-9_]+): \S/.exec(problem)?.[1] ?? ''));
          if (unnamed.length) failures.push(`${name}=${value.slice(0, 20)}: ${error.problems.join(' | ').slice(0, 300)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(refused).toBeGreaterThan(100);
  });
});
