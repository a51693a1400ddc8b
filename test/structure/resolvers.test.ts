import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Resolvers call services only (src/services.ts): no database client, no SQL, no import from
 * src/db. What a resolver would have queried is a service method, where other callers find it.
 */
const src = join(__dirname, '..', '..', 'src');

function resolverFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return resolverFiles(path);
    return entry.name.endsWith('.resolver.ts') ? [path] : [];
  });
}

function databaseUses(text: string): string[] {
  const uses = [/\.prisma\b/g, /\bservices\.db\b/g, /\bdb\.sql\b/g].flatMap((pattern) => [...text.matchAll(pattern)].map(([use]) => use));
  for (const [, from] of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)) {
    if (/(^|\/)db(\/|$)/.test(from)) uses.push(`import from ${from}`);
  }
  return uses;
}

describe('resolvers', () => {
  it('reach the database only through services', () => {
    const files = resolverFiles(src);
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((file) => databaseUses(readFileSync(file, 'utf8')).map((use) => `${relative(src, file)}: ${use}`));
    expect(found).toEqual([]);
  });

  it('recognises the forms it looks for', () => {
    const text = [
      'services.db.prisma.auditLog.findMany()',
      "context.services.db.sql.query('')",
      "import type { Database } from '../db/client';",
      "import { z } from 'zod';",
    ].join('\n');
    expect(databaseUses(text)).toEqual(['.prisma', 'services.db', 'services.db', 'db.sql', 'import from ../db/client']);
  });
});
