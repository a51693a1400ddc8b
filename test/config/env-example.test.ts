import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { loadConfig } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';

const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');

describe('.env.example', () => {
  it('lists every configuration variable and nothing else', () => {
    expect(Object.keys(parseEnv(example)).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it('documents each variable with a comment stating its default', () => {
    const lines = example.split('\n');
    for (const name of Object.keys(configSchema.shape)) {
      const at = lines.findIndex((line) => line.startsWith(`${name}=`));
      expect(lines[at - 1]).toMatch(/^# .*Default: /);
    }
  });

  it('is itself a valid configuration, equal to the defaults', () => {
    expect(loadConfig(parseEnv(example))).toEqual(loadConfig({}));
  });
});
