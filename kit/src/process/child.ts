import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { isProcessAlive } from './processes.ts';
import { WATCHDOG_SCRIPT } from './watchdog.ts';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Settles once the process is gone (or could not be started: code null, signal null). */
  exited: Promise<ProcessExit>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL when it is still there after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /**
   * `tied`: the process dies with this one, even when this one is SIGKILLed (tests, pods).
   * `detached`: it outlives this one (`npm run cluster:up`), and is stopped by pid later.
   */
  lifetime: 'tied' | 'detached';
}

export function startProcess(options: StartProcessOptions): StartedProcess {
  const log = openSync(options.logFile, 'a');
  const child =
    options.lifetime === 'tied'
      ? spawn('sh', ['-c', WATCHDOG_SCRIPT, options.name, options.command, ...options.args], {
          cwd: options.cwd,
          env: options.env,
          stdio: ['pipe', log, log],
        })
      : spawn(options.command, options.args, {
          cwd: options.cwd,
          env: options.env,
          stdio: ['ignore', log, log],
          detached: true,
        });
  closeSync(log);
  if (options.lifetime === 'detached') child.unref();
  // Ending stdin is part of stopping; if the watchdog is already gone that is EPIPE, and moot.
  child.stdin?.on('error', () => {});

  let running = child.pid !== undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  void exited.then(() => {
    running = false;
  });

  return {
    name: options.name,
    pid: child.pid ?? -1,
    logFile: options.logFile,
    exited,
    isRunning: () => running,
    async stop(graceMs) {
      if (!running) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
      child.stdin?.end();
    },
  };
}

/**
 * Stops a process started by an earlier run (by pid), but only when its command line still
 * names `marker` — a pid the kernel has since given to some other program is left alone.
 */
export async function stopProcessById(pid: number, marker: string, graceMs: number): Promise<void> {
  if (!commandLineOf(pid).includes(marker)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isProcessAlive(pid) && Date.now() < deadline) await delay(100);
  if (isProcessAlive(pid)) signal(pid, 'SIGKILL');
  while (isProcessAlive(pid)) await delay(50);
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
