import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/**
 * The package root (the folder holding package.json and prisma/), found from this file so it
 * is the same from src/ (jest, ts) and from dist/ (the compiled build).
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'prisma', 'schema.prisma'))) {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package root with prisma/schema.prisma above ${__dirname}`);
    dir = parent;
  }
}

/** `prisma/migrations` of this package: the one migration history of every database. */
export function migrationsDirectory(): string {
  return join(packageRoot(), 'prisma', 'migrations');
}
