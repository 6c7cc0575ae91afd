// Watches a parent process; when it is gone, fast-stops the PostgreSQL server whose data
// directory it was given. Plain JavaScript so it starts without a TypeScript loader.
import { readFileSync, rmSync } from 'node:fs';

const parentPid = Number(process.argv[2]);
const dataDir = process.argv[3];
const ephemeral = process.argv[4] === 'ephemeral';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function postmasterPid() {
  try {
    return Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
}

process.on('SIGTERM', () => process.exit(0));

const watch = setInterval(() => {
  if (alive(parentPid)) return;
  clearInterval(watch);
  const pid = postmasterPid();
  if (pid > 0 && alive(pid)) process.kill(pid, 'SIGINT');
  const waitForExit = setInterval(() => {
    if (pid > 0 && alive(pid)) return;
    clearInterval(waitForExit);
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }, 100);
}, 500);
