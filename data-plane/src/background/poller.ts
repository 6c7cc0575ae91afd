/** A background loop that stop() ends once its round in flight has finished. */
export interface Poller {
  stop(): Promise<void>;
}

/**
 * Runs `round` now and then every `intervalMs` — at once again while a round reports that it
 * found a full batch, so a backlog drains without waiting — until stopped. A round that
 * throws is reported to `onError` and the loop goes on. stop() waits for the round in flight,
 * so shutdown never cuts a delivery off from its record.
 */
export function startPoller(
  round: () => Promise<{ fullBatch: boolean }>,
  options: { intervalMs: number; onError: (error: unknown) => void },
): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = run();
    }, delay);
  };
  const run = async () => {
    let again = false;
    try {
      again = (await round()).fullBatch;
    } catch (error) {
      options.onError(error);
    }
    schedule(again ? 0 : options.intervalMs);
  };
  schedule(0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
