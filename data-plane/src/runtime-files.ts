import { fileURLToPath } from 'node:url';

/** Set to `true` by the build (esbuild `define`); absent when the sources run under tsx. */
declare const DATA_PLANE_BUNDLED: boolean | undefined;

/**
 * Files the data plane reads at run time, by where they sit in the package and where the
 * build copies them next to the bundle (`dist/main.mjs`). From the sources, this module is
 * `src/runtime-files.ts`; in the bundle, its code is inlined into `dist/main.mjs`, so
 * `import.meta.url` names a different directory in each layout.
 */
export const RUNTIME_FILES = {
  migrations: { source: 'drizzle', bundled: 'drizzle' },
  storefrontAssets: { source: 'src/storefront/assets', bundled: 'assets' },
} as const;

const root = new URL(typeof DATA_PLANE_BUNDLED === 'undefined' ? '../' : './', import.meta.url);
const layout = typeof DATA_PLANE_BUNDLED === 'undefined' ? 'source' : 'bundled';

/** The absolute path of a runtime folder, or of a file in it, in whichever layout is running. */
export function runtimeFile(folder: keyof typeof RUNTIME_FILES, file?: string): string {
  const directory = RUNTIME_FILES[folder][layout];
  return fileURLToPath(new URL(file ? `${directory}/${file}` : directory, root));
}
