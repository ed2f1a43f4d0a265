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

// Log-linear buckets over nanoseconds: values below 2^SUB_BITS ns have a bucket each; above, every
// power of two is cut into 2^SUB_BITS buckets, so a bucket is at most 1/64 (1.6 %) of its value.
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
// Powers of two up to 2^46 ns (about 20 hours): more than any run lasts.
const BUCKETS = SUB + (46 - SUB_BITS) * SUB;

/** The bucket of a latency of `ns` nanoseconds (an integer ≥ 0). */
function bucketOf(ns: number): number {
  if (ns < SUB) return ns;
  if (ns < 0x80000000) {
    const e = 31 - Math.clz32(ns);
    return SUB + (e - SUB_BITS) * SUB + (ns >>> (e - SUB_BITS)) - SUB;
  }
  // The few latencies above 2^31 ns (2.1 s), beyond 32-bit arithmetic.
  const e = Math.floor(Math.log2(ns));
  const sub = Math.floor(ns / 2 ** (e - SUB_BITS)) - SUB;
  return Math.min(BUCKETS - 1, SUB + (e - SUB_BITS) * SUB + sub);
}

/** The middle of bucket `i`, in nanoseconds. */
function middleOf(i: number): number {
  if (i < SUB) return i;
  const e = Math.floor((i - SUB) / SUB) + SUB_BITS;
  const width = 2 ** (e - SUB_BITS);
  return (SUB + ((i - SUB) % SUB)) * width + width / 2;
}

/**
 * Latency samples in a fixed histogram of log-linear buckets (HdrHistogram's layout: 1.6 %
 * precision from 1 ns to hours, 18 KB): recording one is a few arithmetic operations and an
 * increment in memory that stays in the CPU cache, and the summary needs no sort. The recorder
 * runs inside every measured loop, on both sides of a comparison; a buffer of every sample
 * (16 MB at 2 M samples) evicted the subject's own data from the cache, costing the fastest
 * subject the most, and sorting it at the end of a round stalled the event loop for ~0.2 s.
 */
export class LatencyRecorder {
  readonly #counts = new Float64Array(BUCKETS);
  #n = 0;
  #max = 0;

  /** Records one latency in ms. */
  record(ms: number): void {
    const ns = ms > 0 ? Math.round(ms * 1e6) : 0;
    this.#counts[bucketOf(ns)]!++;
    this.#n++;
    if (ms > this.#max) this.#max = ms;
  }

  /** Samples recorded so far. */
  get count(): number {
    return this.#n;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#n = 0;
    this.#max = 0;
  }

  /** Nearest-rank percentile (`q` in [0, 1]) in ms, within the bucket precision; never above max. */
  #quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.#n));
    let seen = 0;
    const counts = this.#counts;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i]!;
      if (seen >= rank) return Math.min(this.#max, middleOf(i) / 1e6);
    }
    return this.#max;
  }

  /** p50 / p99 / max of the samples. */
  summary(): LatencySummary {
    if (this.#n === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
    return {
      count: this.#n,
      p50: this.#quantile(0.5),
      p99: this.#quantile(0.99),
      max: this.#max,
    };
  }
}
