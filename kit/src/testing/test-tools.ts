import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where `infra/test-tools/ensure.sh` installs the Go-built servers the tests run; the two must agree. */
export function testToolsBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.AMANAT_TOOLS_DIR || join(homedir(), '.cache', 'amanat', 'test-tools'), 'bin');
}

/**
 * The path of one test tool. A missing tool fails the test with the command that builds it:
 * a skipped test would pass CI without testing anything.
 */
export function testToolPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const path = join(testToolsBinDir(env), name);
  if (!existsSync(path)) {
    throw new Error(
      `${name} is not installed at ${path}; run \`bash infra/test-tools/ensure.sh\` (npm test does)`,
    );
  }
  return path;
}
