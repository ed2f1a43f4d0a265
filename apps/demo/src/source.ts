import { setTimeout as sleep } from 'node:timers/promises';

/** One record of the fake source. */
export interface Item {
  id: string;
  name: string;
  price: number;
  /** When the source produced this copy (ISO 8601): a cached copy keeps its original time. */
  loadedAt: string;
}

/** A deliberately slow "database": every read takes `delayMs`, so a cache hit is easy to see. */
export interface SlowSource {
  load(id: string): Promise<Item>;
  /** Reads served by the source so far. */
  readonly loads: number;
}

/** Creates the slow fake source. Values are derived from the id, so every id exists. */
export function createSlowSource(delayMs: number): SlowSource {
  let loads = 0;
  return {
    async load(id: string): Promise<Item> {
      await sleep(delayMs);
      loads += 1;
      let hash = 0;
      for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
      return {
        id,
        name: `Item ${id}`,
        price: (hash % 10_000) / 100,
        loadedAt: new Date().toISOString(),
      };
    },
    get loads() {
      return loads;
    },
  };
}
