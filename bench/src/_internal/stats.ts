/** Summary of a set of latency samples, in milliseconds. */
export interface LatencySummary {
  /** Samples the summary is computed from. */
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** The median of a list of numbers (NaN for an empty list). */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of an already sorted array; `q` in [0, 1]. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Latency samples in a preallocated buffer: recording one is a store and an increment, so the
 * recorder costs the same on both sides of a comparison. Past the capacity, samples overwrite
 * the oldest ones (the summary then covers the most recent window); `max` always covers all.
 */
export class LatencyRecorder {
  readonly #buf: Float64Array;
  #n = 0;
  #max = 0;

  constructor(capacity = 1 << 21) {
    this.#buf = new Float64Array(capacity);
  }

  /** Records one latency in ms. */
  record(ms: number): void {
    this.#buf[this.#n % this.#buf.length] = ms;
    this.#n++;
    if (ms > this.#max) this.#max = ms;
  }

  /** Samples recorded so far (including overwritten ones). */
  get count(): number {
    return this.#n;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#n = 0;
    this.#max = 0;
  }

  /** p50 / p99 / max of the samples. */
  summary(): LatencySummary {
    const len = Math.min(this.#n, this.#buf.length);
    const sorted = this.#buf.slice(0, len).sort();
    return {
      count: this.#n,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: len === 0 ? Number.NaN : this.#max,
    };
  }
}
