import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataPlaneCommand } from '@amanat/data-plane/launch';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** What an image stands for on this machine: a program of this checkout, started as a process. */
export interface LocalProgram {
  /** The entry point (the image's ENTRYPOINT + CMD); a container's `args` are appended. */
  argv: string[];
  cwd: string;
}

const typescriptProgram = (packageDir: string, entry: string): LocalProgram => ({
  argv: [process.execPath, '--import', 'tsx', entry],
  cwd: resolve(REPO_ROOT, packageDir),
});

/**
 * Image repository → program. Every tag maps to the working tree's code: the e2e cluster
 * tests this checkout, whatever version a manifest names.
 */
export const LOCAL_IMAGES: Readonly<Record<string, LocalProgram>> = {
  // As the local runtime starts it: the built bundle, rebuilt first if the sources changed
  // (asked when a pod starts, not at import); configured by env per docs/data-plane-contract.md.
  get 'amanat/data-plane'(): LocalProgram {
    const { command, args, cwd } = dataPlaneCommand();
    return { argv: [command, ...args], cwd };
  },
  'amanat/control-plane': typescriptProgram('control-plane', 'src/main.ts'),
  // The harness's own test program: answers /healthz and /readyz and echoes its environment.
  'amanat/e2e-echo': typescriptProgram('e2e', 'test-programs/echo-server.ts'),
};

/** `registry/repo:tag@sha256:…` → `registry/repo`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

export function programForImage(
  image: string,
  table: Readonly<Record<string, LocalProgram>> = LOCAL_IMAGES,
): LocalProgram | undefined {
  return table[imageRepository(image)];
}
