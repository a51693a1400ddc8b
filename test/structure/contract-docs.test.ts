import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from '../../src/config/schema';
import { ErrorCode } from '../../src/errors';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The rows of the markdown table that follows `heading`, as their cells. */
function tableAfter(text: string, heading: string): string[][] {
  const at = text.indexOf(heading);
  if (at < 0) throw new Error(`no "${heading}"`);
  const lines = text.slice(at).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const names = (cell: string) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]);

/** The public contract in the repository says what the code does: error codes, configuration, DLQ reasons. */
describe('the documented contract and the code', () => {
  it('lists every error code with its HTTP status, and no other (docs/contract.md)', () => {
    const documented = Object.fromEntries(tableAfter(read('docs/contract.md'), '## Errors').map(([code, status]) => [code.replace(/`/g, ''), Number(status)]));
    expect(documented).toEqual({ ...ErrorCode });
  });

  it('lists every configuration variable in the README’s table, and no other', () => {
    const documented = tableAfter(read('README.md'), '### Configuration\n').flatMap(([cell]) => names(cell));
    expect([...new Set(documented)].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it('names every DLQ reason the pipeline gives (docs/contract.md)', () => {
    const union = /export type DlqReason = ([^;]+);/.exec(read('src/risk/contract.ts'))![1];
    const reasons = [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]);
    expect(reasons.length).toBeGreaterThanOrEqual(5);
    const contract = read('docs/contract.md');
    expect(reasons.filter((reason) => !contract.includes(`\`${reason}\``))).toEqual([]);
  });
});
