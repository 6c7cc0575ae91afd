import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startPoller } from './poller.ts';

describe('the poller', () => {
  it('runs again at once while rounds find a full batch, then waits its interval', async () => {
    const started: number[] = [];
    const poller = startPoller(
      async () => {
        started.push(Date.now());
        return { fullBatch: started.length < 3 };
      },
      { intervalMs: 300, onError: () => {} },
    );
    await sleep(150);
    expect(started).toHaveLength(3);
    await sleep(300);
    expect(started).toHaveLength(4);
    await poller.stop();
  });

  it('reports a failing round and goes on', async () => {
    const errors: unknown[] = [];
    let rounds = 0;
    const poller = startPoller(
      async () => {
        rounds += 1;
        if (rounds === 1) throw new Error('database away');
        return { fullBatch: false };
      },
      { intervalMs: 20, onError: (error) => errors.push(error) },
    );
    await sleep(100);
    await poller.stop();
    expect(errors).toEqual([new Error('database away')]);
    expect(rounds).toBeGreaterThan(1);
  });

  it('stop() waits for the round in flight and starts no other', async () => {
    let finished = 0;
    let rounds = 0;
    const poller = startPoller(
      async () => {
        rounds += 1;
        await sleep(80);
        finished += 1;
        return { fullBatch: true };
      },
      { intervalMs: 10, onError: () => {} },
    );
    await sleep(20);
    await poller.stop();
    expect(finished).toBe(1);
    await sleep(100);
    expect(rounds).toBe(1);
  });
});
