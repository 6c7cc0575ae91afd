import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../postgres/embedded.ts';
import { startVersityGateway } from './versitygw.ts';

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

const toolsDir = process.env.AMANAT_TOOLS_DIR;
afterEach(() => {
  if (toolsDir === undefined) delete process.env.AMANAT_TOOLS_DIR;
  else process.env.AMANAT_TOOLS_DIR = toolsDir;
});

describe('startVersityGateway', () => {
  it('serves S3 on loopback, makes buckets, and stops, removing its temporary directory', async () => {
    const gateway = await startVersityGateway();
    expect(gateway.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const answer = await fetch(gateway.endpoint);
    expect(answer.headers.get('server')).toBe('VERSITYGW');
    expect(answer.status).toBe(403);

    await gateway.createBucket('backups-test');
    expect(existsSync(join(gateway.dataDir, 'backups-test'))).toBe(true);
    await expect(gateway.createBucket('No_Such')).rejects.toThrow(/invalid S3 bucket name/);

    await gateway.stop();
    expect(isProcessAlive(gateway.pid)).toBe(false);
    await expect(fetch(gateway.endpoint)).rejects.toThrow();
    expect(existsSync(gateway.dataDir)).toBe(false);
  });

  it('keeps a data directory it was given', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'amanat-versitygw-kept-'));
    try {
      const gateway = await startVersityGateway({ dataDir });
      await gateway.createBucket('kept');
      await gateway.stop();
      expect(existsSync(join(dataDir, 'kept'))).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('fails, naming the build script, when the binary is missing', async () => {
    process.env.AMANAT_TOOLS_DIR = await mkdtemp(join(tmpdir(), 'amanat-no-tools-'));
    await expect(startVersityGateway()).rejects.toThrow(
      /versitygw is not installed .*infra\/test-tools\/ensure\.sh/,
    );
  });

  it('leaves no orphan gateway when its owner is killed with SIGKILL', async () => {
    const module = new URL('./versitygw.ts', import.meta.url).href;
    const owner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startVersityGateway } = await import(${JSON.stringify(module)});
         const gateway = await startVersityGateway();
         console.log(JSON.stringify({ pid: gateway.pid, dataDir: gateway.dataDir }));
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const gateway = await new Promise<{ pid: number; dataDir: string }>((resolve, reject) => {
      let printed = '';
      owner.stdout.on('data', (chunk: Buffer) => {
        printed += String(chunk);
        const line = /^(\{.*\})$/m.exec(printed)?.[1];
        if (line) resolve(JSON.parse(line));
      });
      owner.once('exit', () => reject(new Error('the owner exited before starting the gateway')));
    });
    expect(isProcessAlive(gateway.pid)).toBe(true);

    owner.kill('SIGKILL');
    expect(await waitFor(() => !isProcessAlive(gateway.pid), 10_000)).toBe(true);
    // Only stop() removes the temporary directory; nobody was left to call it.
    await rm(gateway.dataDir, { recursive: true, force: true });
  });
});
