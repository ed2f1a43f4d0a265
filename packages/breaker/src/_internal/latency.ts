/** Latency percentiles in milliseconds (0 when there is no sample yet). */
export interface LatencySummary {
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Largest sample in the buffer. */
  max: number;
}

/** A fixed-size ring of latency samples; percentiles are computed only when asked for. */
export class LatencyRing {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = this.#next + 1 === this.#samples.length ? 0 : this.#next + 1;
    if (this.#count < this.#samples.length) this.#count++;
  }

  summary(): LatencySummary {
    if (this.#count === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = this.#samples.slice(0, this.#count).sort();
    return {
      p50: pick(sorted, 0.5),
      p99: pick(sorted, 0.99),
      max: round(sorted[sorted.length - 1] ?? 0),
    };
  }

  clear(): void {
    this.#next = 0;
    this.#count = 0;
  }
}

// Nearest-rank percentile.
function pick(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return round(sorted[rank - 1] ?? 0);
}

function round(ms: number): number {
  return Math.round(ms * 10_000) / 10_000;
}
