import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { RUNTIME_FILES } from './runtime-files.ts';

const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
const DIST_DIR = join(PACKAGE_DIR, 'dist');
/** The data plane as one ES module; its npm dependencies stay imports, resolved from the package. */
export const DATA_PLANE_BUNDLE = join(DIST_DIR, 'main.mjs');
/** What the last build read and when it started: the bundle is stale once any of these changed. */
const BUILD_RECORD = join(DIST_DIR, 'main.inputs.json');
/** Compiled addons cannot be bundled (`pg-native` is pg's optional driver, never installed): imports at run time. */
const NATIVE_PACKAGES = ['@node-rs/argon2', 'pg-native'];

/**
 * V8 flags for a data plane that shares one machine with many others (the local runtime),
 * measured in docs/benchmarks.md ("Data-plane memory"). V8 grows the young generation's
 * semi-spaces up to 16 MB each during start-up and under load and keeps them, which every idle
 * tenant pays for in RSS; 2 MB takes ~28 MB off an idle data plane but costs a third of the
 * throughput on uncached item pages, so a data plane with a machine's share of its own (a pod,
 * the benchmarks) keeps V8's defaults.
 */
export const PACKED_DATA_PLANE_NODE_FLAGS = ['--max-semi-space-size=2'];

/**
 * Environment for the same packed data planes: glibc gives each thread that allocates (V8's
 * GC helpers, libuv's pool) an arena of its own and keeps what is freed in it; one arena takes
 * a further ~7 MB off an idle data plane, whose work is on its main thread anyway.
 */
export const PACKED_DATA_PLANE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** A program to spawn: `command` with `args`, in `cwd`, with `env` added to its environment. */
export interface DataPlaneLaunch {
  command: string;
  args: string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
}

interface BuildRecord {
  startedAt: number;
  /** Relative to the package: every source file the bundle holds and every runtime file copied. */
  inputs: string[];
}

/** Writes a file under a temporary name, then renames it: a concurrent reader sees old or new, never half. */
function writeWhole(path: string, contents: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/** Copies a runtime folder next to the bundle; returns what it read (folders too: their mtime changes when entries come or go). */
function copyFolder(from: string, to: string): string[] {
  mkdirSync(to, { recursive: true });
  const read = [from];
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) read.push(...copyFolder(join(from, entry.name), join(to, entry.name)));
    else {
      const temporary = join(to, `${entry.name}.${process.pid}.tmp`);
      copyFileSync(join(from, entry.name), temporary);
      renameSync(temporary, join(to, entry.name));
      read.push(join(from, entry.name));
    }
  }
  return read;
}

/**
 * Builds `dist/main.mjs` from `src/main.ts` with esbuild: TypeScript and preact JSX compiled,
 * the workspace's `@amanat/kit` (TypeScript sources, which plain node cannot load) and the npm
 * packages inlined, so one module of ASCII source is all V8 holds — ~8 MB less heap than
 * ~1,500 modules from node_modules. Whitespace and syntax are minified, identifiers kept so
 * stack traces still name functions. Native addons stay imports (`NATIVE_PACKAGES`); licence
 * comments go to `main.mjs.LEGAL.txt`. The runtime folders (`RUNTIME_FILES`) are copied next to
 * it, so `dist/` runs without `src/`.
 */
export function buildDataPlane(): void {
  const startedAt = Date.now();
  const result = buildSync({
    absWorkingDir: PACKAGE_DIR,
    entryPoints: ['src/main.ts'],
    outfile: DATA_PLANE_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    external: NATIVE_PACKAGES,
    // The inlined CommonJS packages call `require` for node's own modules, which an ES module
    // does not have.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'external',
    alias: { '@amanat/kit': join(PACKAGE_DIR, '../kit/src') },
    define: { DATA_PLANE_BUNDLED: 'true' },
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const runTimeImports = Object.values(result.metafile.outputs)
    .flatMap((output) => output.imports)
    .filter(
      (imported) =>
        imported.external && !isBuiltin(imported.path) && !NATIVE_PACKAGES.includes(imported.path),
    );
  if (runTimeImports.length > 0) {
    const names = [...new Set(runTimeImports.map((imported) => imported.path))].join(', ');
    throw new Error(`the data-plane bundle would import ${names} at run time; inline it`);
  }
  mkdirSync(DIST_DIR, { recursive: true });
  const copied = Object.values(RUNTIME_FILES).flatMap((folder) =>
    copyFolder(join(PACKAGE_DIR, folder.source), join(DIST_DIR, folder.bundled)),
  );
  for (const output of result.outputFiles) writeWhole(output.path, output.contents);
  const record: BuildRecord = {
    startedAt,
    inputs: [
      ...Object.keys(result.metafile.inputs),
      ...copied.map((path) => relative(PACKAGE_DIR, path)),
      relative(PACKAGE_DIR, fileURLToPath(import.meta.url)),
    ],
  };
  writeWhole(BUILD_RECORD, JSON.stringify(record, null, 2));
}

/** Whether `dist/main.mjs` exists and nothing it was built from changed since that build started. */
export function dataPlaneBundleIsCurrent(): boolean {
  try {
    statSync(DATA_PLANE_BUNDLE);
    const record = JSON.parse(readFileSync(BUILD_RECORD, 'utf8')) as BuildRecord;
    return record.inputs.every((input) => statSync(join(PACKAGE_DIR, input)).mtimeMs < record.startedAt);
  } catch {
    return false;
  }
}

/**
 * How to start a data plane (configured by its environment, docs/data-plane-contract.md):
 * plain node on the bundle, which is built first if missing or stale. The local runtime and
 * the e2e node agent both start it this way, as a container image would; `packed` adds the
 * memory-lean V8 flags and allocator setting for many data planes on one machine.
 */
export function dataPlaneCommand(options: { packed?: boolean } = {}): DataPlaneLaunch {
  if (!dataPlaneBundleIsCurrent()) buildDataPlane();
  return {
    command: process.execPath,
    args: [...(options.packed ? PACKED_DATA_PLANE_NODE_FLAGS : []), DATA_PLANE_BUNDLE],
    cwd: PACKAGE_DIR,
    env: options.packed ? PACKED_DATA_PLANE_ENV : {},
  };
}

if (import.meta.url === `file://${process.argv[1]}`) buildDataPlane();
