import { isXError, XError, XOptionsError } from '@x/connection';

const PKG = '@x/otel';

/** Stable codes of every error this package throws (unique across the x packages). */
export type OtelErrorCode = 'E_OTEL_OPTIONS' | 'E_OTEL_API_MISSING';

/**
 * An invalid option was passed to `instrument()` (code `E_OTEL_OPTIONS`): `field` names it,
 * `value` is what was given.
 */
export class OtelOptionsError extends XOptionsError {
  declare readonly code: 'E_OTEL_OPTIONS';

  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_OTEL_OPTIONS', field, value, expected);
    this.name = 'OtelOptionsError';
  }
}

/**
 * `instrument()` could not load `@opentelemetry/api` (code `E_OTEL_API_MISSING`): it is an
 * optional peer dependency of `@x/otel`, installed by the application (`npm install
 * @opentelemetry/api`). `cause` is the error of the failed `require`.
 */
export class OtelApiMissingError extends XError {
  declare readonly code: 'E_OTEL_API_MISSING';

  constructor(cause: unknown) {
    super(
      PKG,
      'E_OTEL_API_MISSING',
      'instrument() needs @opentelemetry/api, which is not installed: run `npm install @opentelemetry/api` (and an OpenTelemetry SDK to export what it records)',
      { cause },
    );
    this.name = 'OtelApiMissingError';
  }
}

/** Any error `@x/otel` throws. */
export type OtelError = OtelOptionsError | OtelApiMissingError;

/**
 * True for an error of `@x/otel` (also from another installed copy); with `code`, only for that
 * code.
 * @example
 * if (isOtelError(error, 'E_OTEL_API_MISSING')) console.warn('metrics off: ' + error.message);
 */
export function isOtelError(error: unknown, code?: OtelErrorCode): error is OtelError {
  return isXError(error, code) && error.package === PKG;
}
