import type { Source } from "./source";
import type { SourceTracker } from "./tracker";

export interface PollerOptions<T> {
  readonly source: Source<T>;
  readonly tracker: SourceTracker;
  readonly intervalMs: number;
  /** Bound on one read as the tracker enforces it. */
  readonly timeoutMs: number;
  /** Called with each new snapshot (not again for the same last-good one after a failed read). */
  readonly apply: (snapshot: T) => void;
}

export interface Poller {
  /** Starts polling on the first call; every call resolves once the first poll has finished. */
  start(): Promise<void>;
  stop(): void;
}

/**
 * Polls a source in the background every interval, so a slow source never slows a scrape
 * (a scrape only waits for the very first poll). Reads never overlap: a poll still running
 * when the next is due makes that one skip. Health goes through the tracker.
 */
export function createPoller<T>(options: PollerOptions<T>): Poller {
  let applied: T | undefined;
  let first: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      const snapshot = await options.tracker.track(options.source, options.timeoutMs);
      if (snapshot !== undefined && snapshot !== applied) {
        options.apply(snapshot);
        applied = snapshot;
      }
    } finally {
      polling = false;
    }
  };

  return {
    start(): Promise<void> {
      if (!first) {
        first = poll();
        timer = setInterval(() => void poll(), options.intervalMs);
        timer.unref();
      }
      return first;
    },
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
