import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../process/processes.ts';
import { WATCHDOG_SCRIPT } from '../process/watchdog.ts';
import { testToolPath } from './test-tools.ts';

export interface VersityGateway {
  /** `http://127.0.0.1:<port>`; the gateway listens on loopback only. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  dataDir: string;
  pid: number;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';

/**
 * Starts the Versity S3 Gateway (a real S3 API over a directory, built by
 * `infra/test-tools/ensure.sh`) on a free loopback port with fresh root credentials.
 * Without `dataDir`, a temporary directory is used and removed on stop.
 */
export async function startVersityGateway(options: { dataDir?: string } = {}): Promise<VersityGateway> {
  const binary = testToolPath('versitygw');
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'amanat-versitygw-')));
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = `amanat${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');

  const child = spawn(
    'sh',
    ['-c', WATCHDOG_SCRIPT, 'versitygw', binary, '--quiet', '--port', `127.0.0.1:${port}`, 'posix', dataDir],
    {
      // Only what it needs: a stray VGW_* variable in the caller's environment would reconfigure it.
      env: {
        PATH: process.env.PATH,
        ROOT_ACCESS_KEY: accessKeyId,
        ROOT_SECRET_KEY: secretAccessKey,
        VGW_REGION: REGION,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // Ending stdin is how stop() signals; if the watchdog is already gone that is EPIPE, and moot.
  child.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += error.message;
      resolve();
    });
  });
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const stop = async () => {
    if (running) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`versitygw exited before it answered on ${endpoint}:\n${output.trim()}`);
    }
    // Any HTTP answer (an unsigned request gets 403) means it is serving.
    const answered = await fetch(endpoint, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (answered) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`versitygw did not answer on ${endpoint} within 30 s:\n${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    endpoint,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    dataDir,
    pid: child.pid as number,
    // The posix backend serves every top-level directory as a bucket, and in single-account
    // mode the root account may use buckets without the ACL a CreateBucket call would record.
    async createBucket(name: string) {
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
        throw new Error(`invalid S3 bucket name: ${name}`);
      await mkdir(join(dataDir, name));
    },
    stop,
  };
}
