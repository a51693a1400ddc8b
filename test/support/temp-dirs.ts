import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/**
 * A fresh directory under the system's temp folder (a gateway's DATA_DIR, a built portal, ...),
 * removed once the test file has finished (test/support/remove-temp-dirs.ts). Left behind, an
 * embedded database's directory is some 50 MB a run: a few loops of the suite filled the disk.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
