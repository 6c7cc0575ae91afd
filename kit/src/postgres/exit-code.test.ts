import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('importing embedded PostgreSQL keeps a process’s exit code (a failed test run must fail CI)', () => {
  const embedded = fileURLToPath(new URL('./embedded.ts', import.meta.url));
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(embedded)}); process.exitCode = 3;`,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(child.stderr).toBe('');
  expect(child.status).toBe(3);
});
