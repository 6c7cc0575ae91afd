import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '@amanat/kit/process/processes';

/**
 * Hands out pod addresses from one 127.B.0.0/16 block of the loopback network (all of
 * 127.0.0.0/8 reaches this machine on Linux). Every agent on the machine — parallel test files,
 * a `cluster:up` cluster — claims its own block with a lock file naming its pid, so two
 * agents never give the same address and port to two programs.
 */
export class LoopbackAddressPool {
  private next = 0;

  private constructor(
    private readonly secondOctet: number,
    private readonly lockFile: string,
  ) {}

  static claim(): LoopbackAddressPool {
    const first = 100 + Math.floor(Math.random() * 100);
    for (let i = 0; i < 100; i++) {
      const octet = 100 + ((first - 100 + i) % 100);
      const lockFile = join(tmpdir(), `amanat-e2e-pod-network-127.${octet}.lock`);
      if (tryLock(lockFile)) return new LoopbackAddressPool(octet, lockFile);
    }
    throw new Error('every 127.100-199.0.0/16 pod network is claimed by a running node agent');
  }

  /** `127.B.x.y`, skipping .0, .1 and .255 in the last octet. */
  allocate(): string {
    const n = this.next++;
    const third = Math.floor(n / 253);
    if (third > 255) throw new Error(`pod network 127.${this.secondOctet}.0.0/16 is exhausted`);
    return `127.${this.secondOctet}.${third}.${(n % 253) + 2}`;
  }

  release(): void {
    rmSync(this.lockFile, { force: true });
  }
}

function tryLock(lockFile: string, retry = true): boolean {
  try {
    const fd = openSync(lockFile, 'wx');
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    let owner = 0;
    try {
      owner = Number(readFileSync(lockFile, 'utf8').trim());
    } catch {
      return retry && tryLock(lockFile, false);
    }
    // An empty file is a lock being written right now.
    if (!owner || isProcessAlive(owner)) return false;
    // Left behind by an agent that died without releasing it.
    rmSync(lockFile, { force: true });
    return retry && tryLock(lockFile, false);
  }
}
