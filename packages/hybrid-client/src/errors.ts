import type { Problem } from '@x/connection';
import { isXError, XError, XOptionsError, XUnavailableError } from '@x/connection';
import { isLocalCacheError } from '@x/local-cache';

const PKG = '@x/hybrid-client';

/**
 * Stable codes of the errors `@x/hybrid-client` throws, unique across the x packages.
 * - `E_HYBRID_OPTIONS`: an option of `createHybridClient` is invalid ({@link HybridOptionsError}).
 * - `E_HYBRID_ARGUMENT`: an argument of a call is invalid ({@link HybridClientError}).
 * - `E_HYBRID_CLOSED`: the client was used after `close()` ({@link HybridClientError}).
 * - `E_HYBRID_UNAVAILABLE`: with `fallback: 'none'`, Redis could not serve a call
 *   ({@link HybridUnavailableError}).
 * - `E_HYBRID_LOADER_TIMEOUT`: a `getOrSet` loader passed `hardTimeoutMs` with no earlier value
 *   at hand ({@link HybridClientError}).
 * - `E_HYBRID_CODEC`: a namespace's codec could not encode a value, or decode what is stored
 *   ({@link HybridClientError}).
 */
export type HybridClientErrorCode =
  | 'E_HYBRID_OPTIONS'
  | 'E_HYBRID_ARGUMENT'
  | 'E_HYBRID_CLOSED'
  | 'E_HYBRID_UNAVAILABLE'
  | 'E_HYBRID_LOADER_TIMEOUT'
  | 'E_HYBRID_CODEC';

/** Codes of {@link HybridClientError}. */
export type HybridCallErrorCode =
  | 'E_HYBRID_ARGUMENT'
  | 'E_HYBRID_CLOSED'
  | 'E_HYBRID_LOADER_TIMEOUT'
  | 'E_HYBRID_CODEC';

/** Options of a {@link HybridClientError}. */
export interface HybridClientErrorOptions {
  /** The error behind this one. */
  cause?: unknown;
  /** The argument at fault, e.g. `'key'`, `'keys[2]'`. */
  field?: string;
  /** The rejected value (kept on the error, never echoed in the message: keys may be private). */
  value?: unknown;
}

/**
 * A call of the client failed: an argument is invalid (`E_HYBRID_ARGUMENT`, `field` and `value`
 * name it), the client is closed (`E_HYBRID_CLOSED`), a `getOrSet` loader passed its
 * `hardTimeoutMs` (`E_HYBRID_LOADER_TIMEOUT`), or a namespace's codec failed (`E_HYBRID_CODEC`,
 * the codec's error as `cause`). Extends `XError` of `@x/connection`; detect it with
 * {@link isHybridClientError}.
 */
export class HybridClientError extends XError {
  /** The argument at fault, when there is one. */
  readonly field: string | undefined;
  /** The rejected value, when there is one. */
  readonly value: unknown;
  declare readonly code: HybridCallErrorCode;

  constructor(code: HybridCallErrorCode, message: string, options: HybridClientErrorOptions = {}) {
    super(PKG, code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HybridClientError';
    this.field = options.field;
    this.value = options.value;
  }
}

/**
 * An invalid option of `createHybridClient` (code `E_HYBRID_OPTIONS`): `field` names it, `value`
 * is what was given. Thrown synchronously, before anything is created.
 */
export class HybridOptionsError extends XOptionsError {
  declare readonly code: 'E_HYBRID_OPTIONS';

  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_HYBRID_OPTIONS', field, value, expected);
    this.name = 'HybridOptionsError';
  }
}

/**
 * With `fallback: 'none'`, Redis could not serve a call (code `E_HYBRID_UNAVAILABLE`): it timed
 * out, the circuit is open, the link is down, or Redis is misconfigured. `problem` is the
 * connection's diagnosis (what is wrong and what to do), `cause` the guard's error
 * (`E_GUARD_TIMEOUT`, `E_BREAKER_OPEN`, the connection error).
 */
export class HybridUnavailableError extends XUnavailableError {
  declare readonly code: 'E_HYBRID_UNAVAILABLE';

  constructor(operation: string, cause: unknown, problem: Problem | undefined) {
    super(PKG, 'E_HYBRID_UNAVAILABLE', operation, cause, problem);
    this.name = 'HybridUnavailableError';
  }
}

/** Any error `@x/hybrid-client` throws itself. */
export type HybridError = HybridClientError | HybridOptionsError | HybridUnavailableError;

/**
 * True for an error thrown by `@x/hybrid-client` (also from another installed copy); with `code`,
 * only for that code.
 * @param error anything caught
 * @example
 * if (isHybridClientError(error, 'E_HYBRID_CLOSED')) return;
 */
export function isHybridClientError(
  error: unknown,
  code?: HybridClientErrorCode,
): error is HybridError {
  return isXError(error, code) && error.package === PKG;
}

/**
 * True for a wrong-type error from either backend: Redis' `WRONGTYPE` reply or the memory
 * store's `E_LOCAL_CACHE_WRONGTYPE`. Both backends reject the same calls; this tells them apart
 * from outages.
 * @param error anything caught
 */
export function isWrongTypeError(error: unknown): boolean {
  if (isLocalCacheError(error)) return error.code === 'E_LOCAL_CACHE_WRONGTYPE';
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}
