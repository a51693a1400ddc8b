import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Every table has one owning domain folder under src/ (docs/architecture.md): only code there
 * names the table in SQL or reaches its Prisma model. Other domains call the owner's functions,
 * which take a transaction client where the change must commit with the caller's.
 */
const OWNERS: Record<string, string> = {
  accounts: 'accounts',
  api_keys: 'keys',
  plans: 'plans',
  settings: 'settings',
  subscriptions: 'billing',
  stripe_events: 'billing',
  meter_reports: 'billing',
  product_add_ons: 'billing',
  invoice_lines: 'billing',
  data_products: 'catalog',
  registry_schemas: 'catalog',
  registry_subjects: 'catalog',
  registry_versions: 'catalog',
  usage_records: 'metering',
  usage_rollup_marks: 'metering',
  usage_rollups: 'metering',
  quota_alerts: 'limits',
  risk_scores: 'risk',
  latest_risk_scores: 'risk',
  consumer_checkpoints: 'risk',
  risk_state_chunks: 'risk',
  audit_log: 'audit',
  sla_hours: 'sla',
  sla_flushes: 'sla',
  sla_credits: 'sla',
  archive_segments: 'archive',
};

const root = join(__dirname, '..', '..');
const src = join(root, 'src');

/** Prisma model name (as the client spells it: `apiKey`) → table, from the schema's @@map lines. */
function modelTables(): Map<string, string> {
  const schema = readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8');
  const models = new Map<string, string>();
  for (const [, model, body] of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const table = /@@map\("(\w+)"\)/.exec(body)?.[1] ?? model;
    models.set(model[0].toLowerCase() + model.slice(1), table);
  }
  return models;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === join(src, 'generated') ? [] : sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** Comments name tables freely ("the COPY into risk_scores …"); only code counts. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** `table → model` uses found in a file: SQL keywords before a table name, or a Prisma delegate. */
function tableUses(text: string, models: Map<string, string>): Array<{ table: string; via: string }> {
  const tables = new Set(models.values());
  const code = withoutComments(text);
  const uses: Array<{ table: string; via: string }> = [];
  for (const [via, table] of code.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN|COPY)\s+"?(\w+)/g)) {
    if (tables.has(table)) uses.push({ table, via: via.replace(/\s+/g, ' ') });
  }
  // The model is looked ahead, so `db.prisma.apiKey.` is seen as `prisma.apiKey.`.
  for (const [, client, model] of code.matchAll(/\b(prisma|tx|db)\s*\.\s*(?=(\w+)\s*\.)/g)) {
    const table = models.get(model);
    if (table) uses.push({ table, via: `${client}.${model}.` });
  }
  return uses;
}

describe('table owners', () => {
  const models = modelTables();

  it('names an owner for every table in prisma/schema.prisma, and no other', () => {
    expect(Object.keys(OWNERS).sort()).toEqual([...new Set(models.values())].sort());
  });

  it('lets only the owning folder under src/ query a table', () => {
    const strays: string[] = [];
    for (const file of sourceFiles(src)) {
      const domain = relative(src, file).split(sep)[0];
      for (const { table, via } of tableUses(readFileSync(file, 'utf8'), models)) {
        if (OWNERS[table] !== domain) strays.push(`${relative(root, file)}: ${via} (${table} belongs to src/${OWNERS[table]})`);
      }
    }
    expect([...new Set(strays)]).toEqual([]);
  });

  it('recognises the forms it looks for', () => {
    const found = tableUses(
      [
        'SELECT 1 FROM usage_records u JOIN "accounts" a',
        'await tx.meterReport.update()',
        'db.prisma\n  .apiKey.findMany()',
        '// FROM plans',
        'SELECT 1 FROM unnest($1)',
      ].join('\n'),
      models,
    ).map(({ table }) => table);
    expect(found).toEqual(['usage_records', 'accounts', 'meter_reports', 'api_keys']);
  });
});
