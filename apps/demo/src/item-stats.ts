/** Where an item answer came from: Redis, the in-process memory, or the slow source (a miss). */
export type ItemOrigin = 'redis' | 'memory' | 'source';

/** The most recent answer of `GET /items/:id`. */
export interface LastAnswer {
  from: ItemOrigin;
  tookMs: number;
  /** When it was answered (epoch ms). */
  at: number;
}

/** What the item route counts, for the status page and the demo's own metric. */
export interface ItemStats {
  /** Records one answer. */
  record(from: ItemOrigin, tookMs: number): void;
  /** Answers so far, by origin (monotonic). */
  counts(): Readonly<Record<ItemOrigin, number>>;
  /** The most recent answer, or `null` before the first one. */
  lastAnswer(): LastAnswer | null;
}

/** Creates the counters of `GET /items/:id` (three numbers and the last answer: bounded). */
export function createItemStats(): ItemStats {
  const counts: Record<ItemOrigin, number> = { redis: 0, memory: 0, source: 0 };
  let last: LastAnswer | null = null;
  return {
    record(from, tookMs) {
      counts[from] += 1;
      last = { from, tookMs, at: Date.now() };
    },
    counts: () => ({ ...counts }),
    lastAnswer: () => last,
  };
}
