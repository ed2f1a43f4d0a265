const BRAND: unique symbol = Symbol.for('@x/health.error') as never;

/** Stable codes of every error this package throws or reports. */
export type HealthErrorCode = 'E_HEALTH_OPTIONS' | 'E_HEALTH_TIMEOUT' | 'E_HEALTH_REPLY';

/**
 * Base class of the errors of `@x/health`. Detect them with {@link isHealthError}, which also
 * works across two installed copies of the package (a plain `instanceof` does not).
 */
export class HealthError extends Error {
  /** Stable machine-readable code. */
  readonly code: HealthErrorCode;

  constructor(code: HealthErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[@x/health] ${message}`, options);
    this.name = 'HealthError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** An invalid option was passed to a factory: names the field and the bad value. */
export class HealthOptionsError extends HealthError {
  /** The option that was rejected, e.g. `'timeoutMs'`. */
  readonly field: string;
  /** The value that was rejected. */
  readonly value: unknown;

  constructor(field: string, value: unknown, expected: string) {
    super('E_HEALTH_OPTIONS', `invalid option ${field}: ${describe(value)} (expected ${expected})`);
    this.name = 'HealthOptionsError';
    this.field = field;
    this.value = value;
  }
}

/**
 * A check did not complete within its hard deadline: the PING was not answered (a frozen or
 * blackholed server), or the client's connection attempt did not finish (`phase: 'connect'`).
 */
export class HealthTimeoutError extends HealthError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  /** What was still pending at the deadline. */
  readonly phase: 'connect' | 'ping';

  constructor(timeoutMs: number, phase: 'connect' | 'ping' = 'ping') {
    super(
      'E_HEALTH_TIMEOUT',
      phase === 'ping'
        ? `PING did not answer within ${timeoutMs} ms: Redis is frozen, overloaded or unreachable (a frozen server still accepts connections)`
        : `not connected within ${timeoutMs} ms: the client's connection attempt is still running (Redis down or unreachable, or slow to accept; the client's own error events say why)`,
    );
    this.name = 'HealthTimeoutError';
    this.timeoutMs = timeoutMs;
    this.phase = phase;
  }
}

/** The server answered a PING with something other than `PONG`. */
export class HealthReplyError extends HealthError {
  /** The reply that was received. */
  readonly reply: unknown;

  constructor(reply: unknown) {
    super(
      'E_HEALTH_REPLY',
      `unexpected PING reply: ${describe(reply)} (expected PONG: is this address a Redis server, or a proxy that answers for it?)`,
    );
    this.name = 'HealthReplyError';
    this.reply = reply;
  }
}

/** True when `error` is any error of `@x/health` (brand check, survives duplicate installs). */
export function isHealthError(error: unknown): error is HealthError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
