import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isProcessAlive } from '@amanat/kit/process/processes';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPlaneSupervisor, type SupervisedStatus } from './supervisor.ts';

/** A stand-in data plane: ready after READY_AFTER_MS, crashes on /crash. */
const PROGRAM = `
const http = require('node:http');
const started = Date.now();
http.createServer((req, res) => {
  if (req.url === '/crash') process.exit(3);
  res.statusCode = req.url === '/readyz' && Date.now() - started < Number(process.env.READY_AFTER_MS) ? 503 : 200;
  res.end(process.env.GREETING ?? '');
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const supervisors: DataPlaneSupervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((supervisor) => supervisor.stop()));
});

async function supervised(env: Record<string, string> = {}) {
  const port = await freePort();
  const changes: SupervisedStatus[] = [];
  const supervisor = new DataPlaneSupervisor({
    name: 'test-data-plane',
    command: process.execPath,
    args: ['-e', PROGRAM],
    cwd: process.cwd(),
    env: { PATH: process.env.PATH, PORT: String(port), READY_AFTER_MS: '300', ...env },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    logFile: join(await mkdtemp(join(tmpdir(), 'amanat-supervisor-')), 'log'),
    backoff: { baseMs: 100, maxMs: 400 },
    stopGraceMs: 2_000,
    onChange: (status) => changes.push(status),
  });
  supervisors.push(supervisor);
  return { supervisor, port, changes };
}

describe('the data-plane supervisor', () => {
  it('starts the program and reports it ready only once /readyz says so', async () => {
    const { supervisor, port, changes } = await supervised({ GREETING: 'hello' });
    supervisor.start();
    expect(supervisor.status.state).toBe('starting');
    await supervisor.ready(10_000);
    expect(changes.map((status) => status.state)).toEqual(['starting', 'ready']);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hello');
  });

  it('restarts a crashed program with backoff and counts the restarts', async () => {
    const { supervisor, port } = await supervised();
    supervisor.start();
    await supervisor.ready(10_000);
    const firstPid = supervisor.status.pid as number;
    await fetch(`http://127.0.0.1:${port}/crash`).catch(() => undefined);
    await expect.poll(() => supervisor.status.state, { timeout: 5_000 }).not.toBe('ready');
    expect(supervisor.status).toMatchObject({ restarts: 1, lastExit: { code: 3 } });
    await supervisor.ready(10_000);
    expect(supervisor.status.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid)).toBe(false);

    process.kill(supervisor.status.pid as number, 'SIGKILL');
    await expect.poll(() => supervisor.status.restarts, { timeout: 5_000 }).toBe(2);
    expect(supervisor.status.lastExit?.signal).toBe('SIGKILL');
    await supervisor.ready(10_000);
  });

  it('stops the program and does not restart it', async () => {
    const { supervisor } = await supervised();
    supervisor.start();
    await supervisor.ready(10_000);
    const pid = supervisor.status.pid as number;
    await supervisor.stop();
    expect(supervisor.status).toMatchObject({ state: 'stopped', pid: null, restarts: 0 });
    expect(isProcessAlive(pid)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(supervisor.status.state).toBe('stopped');
  });

  it('restarts with new configuration', async () => {
    const { supervisor, port } = await supervised({ GREETING: 'before' });
    supervisor.start();
    await supervisor.ready(10_000);
    await supervisor.restartWith({
      PATH: process.env.PATH,
      PORT: String(port),
      READY_AFTER_MS: '0',
      GREETING: 'after',
    });
    await supervisor.ready(10_000);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('after');
  });
});
