import { type StartedProcess, startProcess } from '@amanat/kit/process/child';

export type ProcessState = 'starting' | 'ready' | 'crashed' | 'stopped';

/** What the runtime reports for one data plane (the local twin of a pod's status). */
export interface SupervisedStatus {
  state: ProcessState;
  pid: number | null;
  /** Restarts after a crash since the data plane was first started. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** When the next start is due while crashed and backing off. */
  restartAt: string | null;
  readySince: string | null;
}

export interface SupervisorOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the program's readiness answers: polled until it says 200. */
  readyUrl: string;
  logFile: string;
  onChange?: (status: SupervisedStatus) => void;
  /** Restart delays: base × 2^(crashes in a row − 1), at most max. */
  backoff?: { baseMs: number; maxMs: number };
  /** Running this long counts as healthy: the next crash starts the backoff again from base. */
  stableAfterMs?: number;
  stopGraceMs?: number;
}

const READY_POLL_MS = 100;

/**
 * Keeps one data-plane process running, like a kubelet keeps a container: started with its
 * configuration, ready once `/readyz` says so, restarted with exponential backoff when it
 * exits on its own, stopped with SIGTERM (then SIGKILL). Every process is tied to this one,
 * so none outlives the local platform, even when it is killed.
 */
export class DataPlaneSupervisor {
  private process: StartedProcess | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private crashesInARow = 0;
  private startedAt = 0;
  private stopping = false;
  private current: SupervisedStatus = {
    state: 'stopped',
    pid: null,
    restarts: 0,
    lastExit: null,
    restartAt: null,
    readySince: null,
  };

  constructor(private options: SupervisorOptions) {}

  get status(): SupervisedStatus {
    return this.current;
  }

  start(): void {
    this.stopping = false;
    this.launch();
  }

  /** New configuration (a brand, a host, suspension, new credentials): restart with it. */
  async restartWith(env: NodeJS.ProcessEnv): Promise<void> {
    await this.stop();
    this.options = { ...this.options, env };
    this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    await this.process?.stop(this.options.stopGraceMs ?? 10_000);
    this.process = null;
    this.update({ state: 'stopped', pid: null, restartAt: null, readySince: null });
  }

  /** Resolves once the data plane is ready; rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.current.state !== 'ready') {
      if (Date.now() > deadline) {
        throw new Error(`${this.options.name} was not ready within ${timeoutMs} ms (${this.current.state})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private update(change: Partial<SupervisedStatus>): void {
    this.current = { ...this.current, ...change };
    this.options.onChange?.(this.current);
  }

  private launch(): void {
    const { name, command, args, cwd, env, logFile } = this.options;
    const started = startProcess({ name, command, args, cwd, env, logFile, lifetime: 'tied' });
    this.process = started;
    this.startedAt = Date.now();
    this.update({ state: 'starting', pid: started.pid, restartAt: null, readySince: null });
    void this.pollReadiness(started);
    void started.exited.then((exit) => {
      if (this.process !== started || this.stopping) return;
      this.process = null;
      const stable = Date.now() - this.startedAt >= (this.options.stableAfterMs ?? 60_000);
      this.crashesInARow = stable ? 1 : this.crashesInARow + 1;
      const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 1_000, maxMs: 30_000 };
      const delay = Math.min(baseMs * 2 ** (this.crashesInARow - 1), maxMs);
      this.update({
        state: 'crashed',
        pid: null,
        restarts: this.current.restarts + 1,
        lastExit: { code: exit.code, signal: exit.signal, at: new Date().toISOString() },
        restartAt: new Date(Date.now() + delay).toISOString(),
        readySince: null,
      });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopping) this.launch();
      }, delay);
    });
  }

  private async pollReadiness(started: StartedProcess): Promise<void> {
    while (this.process === started && started.isRunning()) {
      try {
        const response = await fetch(this.options.readyUrl, { signal: AbortSignal.timeout(1_000) });
        await response.body?.cancel();
        if (response.ok) {
          if (this.process === started) this.update({ state: 'ready', readySince: new Date().toISOString() });
          return;
        }
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }
}
