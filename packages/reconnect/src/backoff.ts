import { ReconnectOptionsError } from './errors.js';

/**
 * How a delay is randomised, following the AWS Architecture Blog article
 * "Exponential Backoff And Jitter":
 * - `'none'`: plain exponential, `min · multiplierⁿ⁻¹` capped at `max`.
 * - `'full'`: uniform in `[min, min · multiplierⁿ]` (capped at `max`).
 * - `'equal'`: half fixed, half random: uniform in `[w/2, w]` with `w = min · multiplierⁿ` (capped).
 * - `'decorrelated'`: uniform in `[min, previous · 3]` (capped), starting from `previous = min`.
 *
 * Unlike the article, which draws from `[0, x]`, the floor is always `minDelayMs`, so a client
 * never retries in a tight 0 ms loop and every delay lies in `[minDelayMs, maxDelayMs]`.
 */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** Options of {@link createBackoff}, {@link computeDelay} and {@link toRetryStrategy}. */
export interface BackoffOptions {
  /**
   * Randomisation of the delays (see {@link Jitter}). Full jitter spreads reconnecting clients
   * best, which is what matters when a whole fleet loses the same Redis at once.
   * @default 'full'
   */
  jitter?: Jitter;
  /** Smallest delay in ms (the first step and the floor of every delay). @default 100 */
  minDelayMs?: number;
  /** Largest delay in ms (the cap of every delay). @default 10_000 */
  maxDelayMs?: number;
  /** Growth factor per attempt; must be >= 1. @default 2 */
  multiplier?: number;
  /** Number of delays handed out before giving up (`next()` then returns `undefined`). @default Infinity */
  maxAttempts?: number;
  /** Source of randomness in `[0, 1)`; inject a seeded one for deterministic tests. @default Math.random */
  random?: () => number;
}

/** {@link BackoffOptions} with every default applied and validated. */
export interface ResolvedBackoffOptions {
  readonly jitter: Jitter;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly maxAttempts: number;
  readonly random: () => number;
}

/** A stateful sequence of delays. */
export interface Backoff {
  /** The delay in ms before the next attempt, or `undefined` once `maxAttempts` delays were given. */
  next(): number | undefined;
  /** Starts over from the first delay (call it once the operation succeeded). */
  reset(): void;
  /** How many delays were handed out since creation or the last `reset()`. */
  readonly attempt: number;
  /** The validated options in effect. */
  readonly options: ResolvedBackoffOptions;
}

const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];

/**
 * Validates backoff options and applies the defaults.
 * @throws ReconnectOptionsError naming the field and the bad value.
 */
export function resolveBackoffOptions(options: BackoffOptions = {}): ResolvedBackoffOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ReconnectOptionsError('options', options, 'expected an object');
  }
  const {
    jitter = 'full',
    minDelayMs = 100,
    maxDelayMs = Math.max(10_000, typeof minDelayMs === 'number' ? minDelayMs : 0),
    multiplier = 2,
    maxAttempts = Number.POSITIVE_INFINITY,
    random = Math.random,
  } = options;
  if (!JITTERS.includes(jitter)) {
    throw new ReconnectOptionsError('jitter', jitter, `expected one of ${JITTERS.join(', ')}`);
  }
  if (typeof minDelayMs !== 'number' || !Number.isFinite(minDelayMs) || minDelayMs < 0) {
    throw new ReconnectOptionsError('minDelayMs', minDelayMs, 'expected a finite number >= 0');
  }
  if (typeof maxDelayMs !== 'number' || !Number.isFinite(maxDelayMs) || maxDelayMs < minDelayMs) {
    throw new ReconnectOptionsError(
      'maxDelayMs',
      maxDelayMs,
      `expected a finite number >= minDelayMs (${minDelayMs})`,
    );
  }
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1) {
    throw new ReconnectOptionsError('multiplier', multiplier, 'expected a finite number >= 1');
  }
  if (
    typeof maxAttempts !== 'number' ||
    Number.isNaN(maxAttempts) ||
    maxAttempts < 0 ||
    (Number.isFinite(maxAttempts) && !Number.isInteger(maxAttempts))
  ) {
    throw new ReconnectOptionsError(
      'maxAttempts',
      maxAttempts,
      'expected an integer >= 0 or Infinity',
    );
  }
  if (typeof random !== 'function') {
    throw new ReconnectOptionsError('random', random, 'expected a function returning [0, 1)');
  }
  return { jitter, minDelayMs, maxDelayMs, multiplier, maxAttempts, random };
}

/**
 * The delay before retry number `attempt` (1-based). Pure apart from `options.random`.
 * @param attempt 1 for the first retry, 2 for the second, ...
 * @param options validated options (see {@link resolveBackoffOptions}).
 * @param previousDelayMs the delay returned for the previous attempt (only `'decorrelated'` uses it).
 * @returns a whole number of ms in `[minDelayMs, maxDelayMs]`.
 */
export function computeDelay(
  attempt: number,
  options: ResolvedBackoffOptions,
  previousDelayMs: number = options.minDelayMs,
): number {
  const { jitter, minDelayMs: min, maxDelayMs: max, multiplier } = options;
  const n = Math.max(1, attempt);
  let delay: number;
  switch (jitter) {
    case 'none':
      delay = grow(min, multiplier, n - 1, max);
      break;
    case 'full': {
      const top = grow(min, multiplier, n, max);
      delay = min + draw(options.random) * (top - min);
      break;
    }
    case 'equal': {
      const top = grow(min, multiplier, n, max);
      const bottom = Math.max(min, top / 2);
      delay = bottom + draw(options.random) * (top - bottom);
      break;
    }
    default: {
      // Decorrelated jitter: the next window depends on the previous delay, not on n.
      const top = Math.min(max, Math.max(previousDelayMs, min, 1) * 3);
      delay = min + draw(options.random) * (top - min);
    }
  }
  return clamp(Math.round(delay), min, max);
}

/**
 * Creates a stateful exponential backoff.
 * @example
 * const backoff = createBackoff({ jitter: 'full', minDelayMs: 50, maxDelayMs: 500, maxAttempts: 5 });
 * backoff.next(); // 50..100
 * @throws ReconnectOptionsError when an option is invalid.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const resolved = resolveBackoffOptions(options);
  let attempt = 0;
  let previous = resolved.minDelayMs;
  return {
    next(): number | undefined {
      if (attempt >= resolved.maxAttempts) return undefined;
      attempt += 1;
      previous = computeDelay(attempt, resolved, previous);
      return previous;
    },
    reset(): void {
      attempt = 0;
      previous = resolved.minDelayMs;
    },
    get attempt(): number {
      return attempt;
    },
    options: resolved,
  };
}

function grow(min: number, multiplier: number, exponent: number, max: number): number {
  if (min === 0) return 0;
  const value = min * multiplier ** exponent;
  // Large exponents overflow to Infinity; the cap keeps the result finite.
  return Math.min(value, max);
}

function draw(random: () => number): number {
  const r = random();
  // A misbehaving source (NaN, 1, negative) must not push a delay out of bounds.
  return r >= 0 && r < 1 ? r : r >= 1 ? 1 : 0;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
