/**
 * A fixed-size ring of the most recent latency samples; percentiles are computed on demand
 * (stats() is rare, recording is on every check), so recording never allocates.
 */
export class SampleRing {
  readonly #values: Float64Array;
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#size < this.#values.length) this.#size += 1;
  }

  /** Nearest-rank percentile (`p` in 0..100) of the samples held, or `null` when empty. */
  percentile(p: number): number | null {
    if (this.#size === 0) return null;
    const sorted = this.#values.slice(0, this.#size).sort();
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
  }

  clear(): void {
    this.#next = 0;
    this.#size = 0;
  }
}
