import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.ts';

const keys = ['a', 'b', 'c', 'd'];

async function settle(queue: WorkQueue) {
  while (queue.depth > 0 || queue.active > 0) {
    await queue.idle();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('the work queue', () => {
  it('never runs one key twice at once, never exceeds its workers, and runs every key after its last add', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.constantFrom(...keys),
            gapTicks: fc.integer({ min: 0, max: 3 }),
            workTicks: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.boolean(), { maxLength: 20 }),
        async (adds, workers, failurePlan) => {
          const inFlight = new Set<string>();
          let maxInFlight = 0;
          let clock = 0;
          const lastAdded = new Map<string, number>();
          const lastStarted = new Map<string, number>();
          const work = new Map<string, number>();
          let calls = 0;
          const queue = new WorkQueue(
            async (key) => {
              expect(inFlight.has(key)).toBe(false);
              inFlight.add(key);
              maxInFlight = Math.max(maxInFlight, inFlight.size);
              lastStarted.set(key, ++clock);
              for (let i = 0; i < (work.get(key) ?? 0); i++) await tick();
              inFlight.delete(key);
              if (failurePlan[calls++]) throw new Error('transient');
            },
            { workers, baseDelayMs: 1, maxDelayMs: 4 },
          );
          for (const { key, gapTicks, workTicks } of adds) {
            work.set(key, workTicks);
            lastAdded.set(key, ++clock);
            queue.add(key);
            for (let i = 0; i < gapTicks; i++) await tick();
          }
          await settle(queue);
          expect(maxInFlight).toBeLessThanOrEqual(workers);
          for (const [key, added] of lastAdded) {
            expect(lastStarted.get(key), key).toBeGreaterThan(added);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('deduplicates: a key added many times while waiting runs once', async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'first') await blocker;
      },
      { workers: 1, baseDelayMs: 1, maxDelayMs: 1 },
    );
    queue.add('first');
    for (let i = 0; i < 10; i++) queue.add('second');
    expect(queue.depth).toBe(1);
    release();
    await settle(queue);
    expect(runs).toEqual(['first', 'second']);
  });

  it('backs off exponentially on failure, up to the maximum, and resets after a success', async () => {
    const delays: number[] = [];
    let failuresLeft = 5;
    const queue = new WorkQueue(
      async () => {
        if (failuresLeft-- > 0) throw new Error('database unavailable');
      },
      { workers: 1, baseDelayMs: 1, maxDelayMs: 8, onError: (_key, _error, delay) => delays.push(delay) },
    );
    queue.add('tenant');
    await settle(queue);
    expect(delays).toEqual([1, 2, 4, 8, 8]);
    expect(queue.failuresOf('tenant')).toBe(0);
  });

  it('shutdown waits for the work in process and takes no more', async () => {
    let finished = false;
    const queue = new WorkQueue(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished = true;
      },
      { workers: 1, baseDelayMs: 1, maxDelayMs: 1 },
    );
    queue.add('a');
    queue.add('b');
    await queue.shutdown();
    expect(finished).toBe(true);
    queue.add('c');
    expect(queue.depth).toBe(0);
  });
});
