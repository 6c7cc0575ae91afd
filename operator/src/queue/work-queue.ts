/**
 * The reconciler's work queue, written here because @kubernetes/client-node has none (client-go's
 * workqueue has no TypeScript port). It keeps client-go's guarantees:
 * - a key waits in the queue at most once, however often it is added (deduplication);
 * - a key is never processed by two workers at once: added while in process, it is marked
 *   dirty and queued again when its worker finishes;
 * - a failing key is retried after an exponentially growing delay, reset by a success.
 */
export interface WorkQueueOptions {
  /** How many keys are processed at once (different keys only). */
  workers: number;
  /** First retry delay after a failure; doubles per consecutive failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called for every failure, with the delay before the retry. */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
  /** Clock and timers, replaceable by tests. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export type Handler = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: unknown }>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(
    private readonly handler: Handler,
    private readonly options: WorkQueueOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as NodeJS.Timeout));
  }

  /** Queues `key` now (an earlier delayed add of it is superseded). */
  add(key: string): void {
    if (this.stopped) return;
    this.cancelDelay(key);
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues `key` after `ms`, unless it is already due sooner. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clearTimer(pending.timer);
    const timer = this.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Keys waiting or delayed: the queue depth metric. */
  get depth(): number {
    return this.queue.length + this.delayed.size;
  }

  get active(): number {
    return this.running;
  }

  /** Consecutive failures of `key` (0 after a success). */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Stops taking work; resolves when the keys in process are done. Delayed keys are dropped. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.delayed.values()) this.clearTimer(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.queued.clear();
    await this.idle();
  }

  /** Resolves once nothing is queued or in process (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private cancelDelay(key: string): void {
    const pending = this.delayed.get(key);
    if (!pending) return;
    this.clearTimer(pending.timer);
    this.delayed.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.options.workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
    if (this.running === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async process(key: string): Promise<void> {
    let failed = false;
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (error) {
      failed = true;
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = Math.min(this.options.baseDelayMs * 2 ** (failures - 1), this.options.maxDelayMs);
      this.options.onError?.(key, error, delay);
      if (!this.stopped) this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.running--;
      // Added while in process: the change it was added for may have come after the handler
      // read its state, so it runs again (now, unless it failed and waits for its backoff).
      if (this.dirty.delete(key) && !this.stopped && !failed) this.add(key);
      this.pump();
    }
  }
}
