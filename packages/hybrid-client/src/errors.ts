import { isLocalCacheError } from '@x/local-cache';

const BRAND: unique symbol = Symbol.for('@x/hybrid-client.error') as never;

/**
 * Stable codes of {@link HybridClientError}.
 * - `E_OPTIONS`: an option of {@link createHybridClient} is invalid (`field` and `value` name it).
 * - `E_CLOSED`: the client was used after `close()`.
 * - `E_ARGUMENT`: an argument is invalid (for example a loader that resolved to a non-string).
 */
export type HybridClientErrorCode = 'E_OPTIONS' | 'E_CLOSED' | 'E_ARGUMENT';

/** Every error thrown by `@x/hybrid-client` itself. Detect it with {@link isHybridClientError}. */
export class HybridClientError extends Error {
  override readonly name = 'HybridClientError';
  /** Stable machine-readable code. */
  readonly code: HybridClientErrorCode;
  /** The option or argument at fault, when there is one. */
  readonly field: string | undefined;
  /** The rejected value, when there is one (never a credential: URLs are not echoed). */
  readonly value: unknown;
  readonly [BRAND] = true;

  constructor(
    code: HybridClientErrorCode,
    message: string,
    options: { cause?: unknown; field?: string; value?: unknown } = {},
  ) {
    super(`[@x/hybrid-client] ${message}`, { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.value = options.value;
  }
}

/**
 * Brand check for {@link HybridClientError}; true across two installed copies of the package.
 * @param error anything caught
 */
export function isHybridClientError(error: unknown): error is HybridClientError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

/**
 * True for a wrong-type error from either backend: Redis' `WRONGTYPE` reply or the memory
 * store's `E_WRONGTYPE`. Both backends reject the same calls; this tells them apart from outages.
 * @param error anything caught
 */
export function isWrongTypeError(error: unknown): boolean {
  if (isLocalCacheError(error)) return error.code === 'E_WRONGTYPE';
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}
