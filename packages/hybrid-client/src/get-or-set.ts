import { HybridClientError } from './errors.js';

/** Options of `getOrSet`. */
export interface GetOrSetOptions {
  /** Time to live of the loaded value, ms (a positive integer). @default undefined (no expiry) */
  ttl?: number | undefined;
  /**
   * When the loader throws or passes `hardTimeoutMs` and a last known value of the key is at hand
   * (a copy Redis invalidated, or one that stopped being tracked, less than `failSafeMaxAgeMs`
   * ago), return it instead of failing; it is then returned without calling the loader for
   * {@link FAIL_SAFE_HOLD_MS}.
   * @default true
   */
  failSafe?: boolean | undefined;
  /**
   * With a last known value at hand, a load that takes longer than this returns that value at
   * once; the load goes on in the background and stores its value when it completes.
   * @default undefined (wait for the load)
   */
  softTimeoutMs?: number | undefined;
  /**
   * The longest a caller waits for the load: past it, the last known value is returned (with
   * `failSafe`), else the call rejects with `E_HYBRID_LOADER_TIMEOUT`. The load goes on in the
   * background and stores its value when it completes.
   * @default undefined (no limit)
   */
  hardTimeoutMs?: number | undefined;
}

/**
 * After a loader failure answered with the last known value, that value is returned for this long
 * (ms) without calling the loader again, so a failing database is not called by every request.
 */
export const FAIL_SAFE_HOLD_MS = 5_000;
/** Most keys held after a loader failure; the oldest goes first. */
const MAX_HELD = 10_000;

type Raw = string | Buffer;

/** What `getOrSet` needs from the client, for text or bytes. */
export interface LoadHost {
  /** The value of `key` (near copy, Redis, memory), `null` when missing. */
  read(key: string, bytes: boolean): Promise<Raw | null>;
  /** Stores a loaded value. */
  write(key: string, value: Raw, ttl: number | undefined): Promise<unknown>;
  /** The last value known for `key` (see {@link GetOrSetOptions.failSafe}), `undefined` if none. */
  lastKnown(key: string, bytes: boolean): Raw | undefined;
}

const noop = (): void => {};

/** Checks the options of a `getOrSet` call; the error names the field. */
export function checkGetOrSetOptions(
  options: GetOrSetOptions | undefined,
): HybridClientError | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    return new HybridClientError('E_HYBRID_ARGUMENT', 'getOrSet options must be an object', {
      field: 'options',
      value: options,
    });
  }
  for (const field of ['ttl', 'softTimeoutMs', 'hardTimeoutMs'] as const) {
    const v = options[field];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)) {
      return new HybridClientError(
        'E_HYBRID_ARGUMENT',
        `getOrSet option ${field} must be a positive integer (ms), got ${String(v)}`,
        { field, value: v },
      );
    }
  }
  if (options.failSafe !== undefined && typeof options.failSafe !== 'boolean') {
    return new HybridClientError(
      'E_HYBRID_ARGUMENT',
      'getOrSet option failSafe must be a boolean',
      {
        field: 'failSafe',
        value: options.failSafe,
      },
    );
  }
  return undefined;
}

/**
 * `getOrSet` after the fast paths: single-flight loads, the fail-safe and the soft / hard timeouts.
 *
 * One load per key runs at a time (text and bytes apart): it reads the key, and on a miss calls
 * the loader and stores its value; every caller that comes meanwhile shares it, and waits for it
 * under its own timeouts. A load keeps running after its callers stopped waiting (a soft or hard
 * timeout), so its value is stored when it completes and the next caller finds it; its failure
 * then reaches nobody (it is never an unhandled rejection).
 */
export class GetOrSet {
  readonly #host: LoadHost;
  readonly #loads = [new Map<string, Promise<Raw>>(), new Map<string, Promise<Raw>>()] as const;
  readonly #held = new Map<string, { value: Raw; until: number }>();

  constructor(host: LoadHost) {
    this.#host = host;
  }

  /** Loads in flight (for tests: every one ends). */
  get loading(): number {
    return this.#loads[0].size + this.#loads[1].size;
  }

  /**
   * The value of `key`, else the loader's value (stored with `ttl`). `loader` resolves to the
   * value to store, already checked (it throws a typed error for a bad one).
   */
  run(
    key: string,
    loader: () => Promise<Raw>,
    bytes: boolean,
    options: GetOrSetOptions | undefined,
  ): Promise<Raw> {
    const loads = this.#loads[bytes ? 1 : 0];
    let load = loads.get(key);
    if (load === undefined) {
      const started = this.#load(key, loader, bytes, options?.ttl);
      load = started.finally(() => {
        if (loads.get(key) === load) loads.delete(key);
      });
      // Callers handle its failure; a load nobody waits for any more must not surface.
      load.catch(noop);
      loads.set(key, load);
    }
    const failSafe = options?.failSafe !== false;
    const soft = options?.softTimeoutMs;
    const hard = options?.hardTimeoutMs;
    if (!failSafe && hard === undefined) return load;
    const held = failSafe ? this.#heldValue(key, bytes) : undefined;
    const stale = held ?? (failSafe ? this.#host.lastKnown(key, bytes) : undefined);
    if (stale === undefined && hard === undefined) return load;
    return this.#wait(key, load, stale, soft, hard);
  }

  async #load(
    key: string,
    loader: () => Promise<Raw>,
    bytes: boolean,
    ttl: number | undefined,
  ): Promise<Raw> {
    const hit = await this.#host.read(key, bytes);
    if (hit !== null) return hit;
    const held = this.#heldValue(key, bytes);
    if (held !== undefined) return held;
    const value = await loader();
    await this.#host.write(key, value, ttl);
    this.#held.delete(key);
    return value;
  }

  /**
   * Waits for `load` under the caller's timeouts. With `stale` at hand: its value at the soft or
   * hard timeout, or when the load fails (then held for {@link FAIL_SAFE_HOLD_MS}).
   */
  #wait(
    key: string,
    load: Promise<Raw>,
    stale: Raw | undefined,
    soft: number | undefined,
    hard: number | undefined,
  ): Promise<Raw> {
    return new Promise<Raw>((resolve, reject) => {
      let done = false;
      let softTimer: NodeJS.Timeout | undefined;
      let hardTimer: NodeJS.Timeout | undefined;
      const finish = (value: Raw | undefined, error?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(softTimer);
        clearTimeout(hardTimer);
        if (value !== undefined) resolve(value);
        else reject(error);
      };
      if (stale !== undefined && soft !== undefined) {
        softTimer = setTimeout(() => finish(stale), soft);
      }
      if (hard !== undefined) {
        hardTimer = setTimeout(() => {
          if (stale !== undefined) finish(stale);
          else {
            finish(
              undefined,
              new HybridClientError(
                'E_HYBRID_LOADER_TIMEOUT',
                `the getOrSet loader took longer than hardTimeoutMs (${hard} ms) and no earlier value was at hand: it goes on in the background and stores its value when it completes`,
                { field: 'hardTimeoutMs', value: hard },
              ),
            );
          }
        }, hard);
      }
      load.then(
        (value) => finish(value),
        (error: unknown) => {
          if (stale === undefined) {
            finish(undefined, error);
            return;
          }
          this.#hold(key, stale);
          finish(stale);
        },
      );
    });
  }

  #heldValue(key: string, bytes: boolean): Raw | undefined {
    const held = this.#held.get(key);
    if (held === undefined) return undefined;
    if (performance.now() >= held.until) {
      this.#held.delete(key);
      return undefined;
    }
    const value = held.value;
    if (typeof value === 'string') return bytes ? Buffer.from(value, 'utf8') : value;
    return bytes ? Buffer.from(value) : value.toString('utf8');
  }

  #hold(key: string, value: Raw): void {
    const held = this.#held;
    held.delete(key);
    if (held.size >= MAX_HELD) held.delete(held.keys().next().value as string);
    held.set(key, { value, until: performance.now() + FAIL_SAFE_HOLD_MS });
  }

  /** Forgets what is held (the client closes). */
  clear(): void {
    this.#held.clear();
  }
}
