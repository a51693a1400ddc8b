import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { bindMigrationAwareSqlAdapterFactory, DriverAdapterError } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm' with { 'resolution-mode': 'import' };
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm): the engine
 * behind `prisma migrate`, without the native binary these machines cannot download. It talks
 * to the database through a driver adapter (pg or PGlite). scripts/migration-diff.mjs loads it
 * the same way to write new migrations.
 */

export const NO_SCHEMA_FILTER = { externalTables: [], externalEnums: [] };
export const MIGRATION_LOCK_FILE = 'migration_lock.toml';

type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg', { with: { 'resolution-mode': 'import' }});

let engineModule: Promise<EngineModule> | undefined;

// The compiler's lib has no DOM, hence no WebAssembly typings: the little we use.
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, Record<string, unknown>>): Promise<{ exports: Record<string, unknown> }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * Instantiates the WASM module (5.7 MB) once per process; loading it and applying the first
 * migration takes ~150 ms. The package's own entry imports the .wasm as an ES module, which
 * Node only does behind a flag, so we instantiate it with the wasm-bindgen glue ourselves.
 */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = join(dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
    const module = await wasmApi.compile(await readFile(wasmPath));
    const instance = await wasmApi.instantiate(module, { './schema_engine_bg.js': trackTimers(glue) });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })().catch((error: unknown) => {
    engineModule = undefined;
    throw error;
  });
  return engineModule;
}

// The glue's setTimeout import is never cleared (the engine arms a 10 s advisory-lock timeout and
// drops it), which kept a finished `tollgraph db migrate` alive for 10 s. The timers are tracked
// and cleared once the engine's work is done.
const engineTimers = new Set<NodeJS.Timeout>();

function trackTimers(glue: EngineModule): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...glue };
  for (const name of Object.keys(imports)) {
    if (!name.startsWith('__wbg_setTimeout_')) continue;
    imports[name] = (callback: () => void, ms: number) => {
      const timer = setTimeout(() => {
        engineTimers.delete(timer);
        callback();
      }, ms >>> 0);
      engineTimers.add(timer);
      return timer;
    };
  }
  return imports;
}

function clearEngineTimers(): void {
  for (const timer of engineTimers) clearTimeout(timer);
  engineTimers.clear();
}

// One engine at a time per process: the instances share one WebAssembly memory.
let queue: Promise<unknown> = Promise.resolve();

/** Runs `work` with a fresh engine connected through `factory`; frees the engine afterwards. */
export function withSchemaEngine<T>(factory: SqlMigrationAwareDriverAdapterFactory, work: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const runtime = await loadEngineModule();
    const logs: string[] = [];
    const engine = await runtime.SchemaEngine.new(
      { datamodels: undefined },
      (line: string) => {
        logs.push(line);
        if (logs.length > 50) logs.shift();
      },
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    try {
      return await work(engine);
    } catch (error) {
      throw engineError(error, logs);
    } finally {
      engine.free();
      clearEngineTimers();
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** The engine rejects with plain objects or JSON; turn them into an Error with its message. */
function engineError(error: unknown, logs: string[]): Error {
  if (error instanceof Error) return error;
  let message: string;
  if (typeof error === 'string') message = error;
  else if (error && typeof error === 'object' && 'message' in error) message = String((error as { message: unknown }).message);
  else message = JSON.stringify(error);
  const wrapped = new Error(message);
  Object.assign(wrapped, { engineError: error, engineLogs: logs.slice(-10) });
  return wrapped;
}

/** Reads `dir/<name>/migration.sql` folders (sorted by name) the way the Prisma CLI does. */
export async function readMigrationList(dir: string): Promise<MigrationList> {
  const lockPath = join(dir, MIGRATION_LOCK_FILE);
  const names = existsSync(dir)
    ? (await readdir(dir, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
    : [];
  const migrationDirectories: MigrationList['migrationDirectories'] = [];
  for (const name of names) {
    const file = join(dir, name, 'migration.sql');
    if (!existsSync(file)) throw new Error(`migration folder ${name} has no migration.sql (${dir})`);
    migrationDirectories.push({
      path: name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: await readFile(file, 'utf8') } },
    });
  }
  return {
    baseDir: dir,
    lockfile: { path: MIGRATION_LOCK_FILE, content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** A Postgres error (pg's or PGlite's) as the driver-adapter error the engine and client read. */
export function toDriverAdapterError(error: unknown): unknown {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; severity?: unknown; message?: unknown; detail?: unknown; column?: unknown; hint?: unknown };
    if (typeof e.code === 'string' && typeof e.severity === 'string' && typeof e.message === 'string') {
      return new DriverAdapterError({
        kind: 'postgres',
        code: e.code,
        severity: e.severity,
        message: e.message,
        detail: typeof e.detail === 'string' ? e.detail : undefined,
        column: typeof e.column === 'string' ? e.column : undefined,
        hint: typeof e.hint === 'string' ? e.hint : undefined,
        originalCode: e.code,
        originalMessage: e.message,
      });
    }
  }
  return error;
}
