import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from './embedded.ts';

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

describe('embedded PostgreSQL', () => {
  it('leaves no orphan server when its owner is killed with SIGKILL', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'amanat-orphan-test-'));
    const script = fileURLToPath(new URL('./start-for-test.fixture.ts', import.meta.url));
    const owner = spawn(process.execPath, ['--import', 'tsx', script, dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = await new Promise<boolean>((resolve) => {
      owner.stdout.on('data', (chunk: Buffer) => {
        if (String(chunk).includes('ready')) resolve(true);
      });
      owner.once('exit', () => resolve(false));
    });
    expect(started).toBe(true);
    const postmasterPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(isProcessAlive(postmasterPid)).toBe(true);

    owner.kill('SIGKILL');
    expect(await waitFor(() => !isProcessAlive(postmasterPid), 15_000)).toBe(true);
    // The guardian also removes an ephemeral data directory once the server is down.
    expect(await waitFor(() => !existsSync(dataDir), 5_000)).toBe(true);
  }, 120_000);
});
