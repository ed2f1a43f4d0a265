import { type IBreaker, SamplingBreaker } from 'cockatiel';

interface Window {
  startedAt: number;
  failures: number;
  successes: number;
}

interface SamplingState {
  windows: Window[];
  currentWindow: number;
  currentFailures: number;
  currentSuccesses: number;
}

/**
 * cockatiel's `SamplingBreaker`, plus expiry of windows older than the sampling duration.
 * cockatiel rotates one window per call, so after a quiet spell old failures stay counted until
 * enough later calls rotate them out; here a call after a gap first drops every window that left
 * the sampling duration (through the breaker's own `state` accessor), then delegates.
 */
export class ExpiringSamplingBreaker implements IBreaker {
  readonly #inner: SamplingBreaker;
  readonly #duration: number;
  readonly #windowMs: number;
  #lastAt = 0;

  constructor(threshold: number, durationMs: number, minimumRps: number | undefined) {
    this.#inner = new SamplingBreaker(
      minimumRps === undefined
        ? { threshold, duration: durationMs }
        : { threshold, duration: durationMs, minimumRps },
    );
    // Same arithmetic as SamplingBreaker's constructor.
    const count = Math.max(5, Math.ceil(durationMs / 1000));
    this.#windowMs = Math.round(durationMs / count);
    this.#duration = this.#windowMs * count;
  }

  get state(): unknown {
    return this.#inner.state;
  }

  set state(value: unknown) {
    this.#inner.state = value;
  }

  success(state: never): void {
    this.#expire();
    this.#inner.success(state);
  }

  failure(state: never): boolean {
    this.#expire();
    return this.#inner.failure(state);
  }

  #expire(): void {
    const now = Date.now();
    const last = this.#lastAt;
    this.#lastAt = now;
    if (now - last < this.#windowMs) return;
    const s = this.#inner.state as SamplingState;
    let { currentFailures, currentSuccesses } = s;
    for (const w of s.windows) {
      if (now - w.startedAt >= this.#duration) {
        currentFailures -= w.failures;
        currentSuccesses -= w.successes;
        w.failures = 0;
        w.successes = 0;
      }
    }
    this.#inner.state = { currentFailures, currentSuccesses };
  }
}
