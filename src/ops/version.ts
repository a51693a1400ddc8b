import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read once; works from both src/ (tests) and dist/ (built). */
export const VERSION: string = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
