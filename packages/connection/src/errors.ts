import type { Problem } from './diagnosis.js';

// One brand for every error of every x package, on the prototype: inherited by each subclass,
// found through the Symbol.for key from any installed copy, and free to construct.
const BRAND: unique symbol = Symbol.for('@x/error') as never;

/** Options of an {@link XError}. */
export interface XErrorOptions {
  /** The error behind this one (kept as `error.cause`). */
  cause?: unknown;
}

/**
 * Base class of the errors of the x packages that stand on `@x/connection`. Every error has a
 * stable `code` unique across the packages (one `switch (error.code)` tells every failure apart),
 * a `name`, the `package` that threw it, a `cause` when there is one, and a message that starts
 * with the package name and says what to do.
 *
 * Detect them with {@link isXError} (or a package's own `is…Error`), which also works across two
 * installed copies of a package; a plain `instanceof` does not.
 */
export class XError extends Error {
  /** Stable machine-readable code, unique across the x packages (e.g. `'E_LOCK_LOST'`). */
  readonly code: string;
  /** The package that threw it, e.g. `'@x/lock'`. */
  readonly package: string;

  constructor(pkg: string, code: string, message: string, options?: XErrorOptions) {
    super(`[${pkg}] ${message}`, options?.cause === undefined ? undefined : options);
    this.name = 'XError';
    this.code = code;
    this.package = pkg;
  }

  static {
    Object.defineProperty(XError.prototype, BRAND, { value: true });
  }
}

/**
 * True for an error of any x package (from this or another installed copy); with `code`, only
 * for that code.
 * @example
 * if (isXError(error, 'E_LOCK_LOST')) stopWork();
 */
export function isXError(error: unknown, code?: string): error is XError {
  if (typeof error !== 'object' || error === null || (error as never)[BRAND] !== true) return false;
  return code === undefined || (error as XError).code === code;
}

/**
 * An invalid option or argument: names the field, the value and what was expected. Each package
 * has its own subclass and code (`E_LOCK_OPTIONS`, `E_CONNECTION_OPTIONS`...).
 */
export class XOptionsError extends XError {
  /** The option or argument that was rejected, e.g. `'timeoutMs'`. */
  readonly field: string;
  /** The value that was rejected. */
  readonly value: unknown;
  /** What was expected, e.g. `'an integer >= 1 (ms)'`. */
  readonly expected: string;

  constructor(pkg: string, code: string, field: string, value: unknown, expected: string) {
    super(pkg, code, `invalid ${field}: ${describeValue(value)} (expected ${expected})`);
    this.name = 'XOptionsError';
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

/**
 * Redis could not serve a call: unreachable, frozen past the deadline, the circuit is open, or
 * misconfigured. `problem` is the connection's diagnosis at that moment (what is wrong and what to
 * do), `cause` the error of the call. Each package has its own subclass and code
 * (`E_LOCK_UNAVAILABLE`, `E_SESSION_UNAVAILABLE`...).
 */
export class XUnavailableError extends XError {
  /** What the package was doing, e.g. `'acquire'`. */
  readonly operation: string;
  /** The connection's diagnosis when the call failed, if it had one. */
  readonly problem: Problem | undefined;

  constructor(
    pkg: string,
    code: string,
    operation: string,
    cause: unknown,
    problem: Problem | undefined,
  ) {
    super(pkg, code, `Redis unavailable during ${operation}: ${explain(cause, problem)}`, {
      cause,
    });
    this.name = 'XUnavailableError';
    this.operation = operation;
    this.problem = problem;
  }
}

/** Stable codes of the errors `@x/connection` throws. */
export type ConnectionErrorCode =
  | 'E_CONNECTION_OPTIONS'
  | 'E_CONNECTION_CLOSED'
  | 'E_REDIS_UNAVAILABLE'
  | 'E_REDIS_MISCONFIGURED'
  | 'E_REDIS_FAILOVER';

const PKG = '@x/connection';

/** An invalid option of `createConnection` (code `E_CONNECTION_OPTIONS`). */
export class ConnectionOptionsError extends XOptionsError {
  constructor(field: string, value: unknown, expected: string) {
    super(PKG, 'E_CONNECTION_OPTIONS', field, value, expected);
    this.name = 'ConnectionOptionsError';
  }
}

/** The connection was closed (code `E_CONNECTION_CLOSED`): create a new one. */
export class ConnectionClosedError extends XError {
  constructor(what = 'the connection') {
    super(PKG, 'E_CONNECTION_CLOSED', `${what} is closed: create a new one`);
    this.name = 'ConnectionClosedError';
  }
}

/**
 * A call refused while a Sentinel failover replaces the primary (code `E_REDIS_FAILOVER`, the
 * `failoverFence`): sent now, it could be acknowledged by the old primary and lost with it. Not
 * sent; an infrastructure failure for the guard (a fallback serves it). Usable again once the
 * client is on the new primary.
 */
export class RedisFailoverError extends XError {
  constructor() {
    super(
      PKG,
      'E_REDIS_FAILOVER',
      'a Sentinel failover is replacing the primary: the call was not sent (the old primary would acknowledge it and lose it); Redis is usable again once the client is on the new primary',
    );
    this.name = 'RedisFailoverError';
  }
}

/**
 * Redis did not become usable by the deadline (code `E_REDIS_UNAVAILABLE`): refused, unreachable,
 * frozen, loading... `problem` says what was seen last. The connection keeps trying in the
 * background.
 */
export class RedisUnavailableError extends XError {
  /** What was wrong when the wait ended. */
  readonly problem: Problem;

  constructor(problem: Problem, waitedMs: number) {
    super(
      PKG,
      'E_REDIS_UNAVAILABLE',
      `Redis not usable after ${waitedMs} ms: ${problem.message}. ${problem.hint}`,
    );
    this.name = 'RedisUnavailableError';
    this.problem = problem;
  }
}

/**
 * Redis answered, but the setup is wrong (code `E_REDIS_MISCONFIGURED`): wrong password, missing
 * ACL permission, TLS mismatch, unknown host, standalone vs Cluster mismatch, db out of range.
 * Reported at once, not after a deadline; `problem` has the server's words and a hint.
 */
export class RedisMisconfiguredError extends XError {
  /** The misconfiguration. */
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(
      PKG,
      'E_REDIS_MISCONFIGURED',
      `Redis is misconfigured (${problem.kind}): ${problem.message}. ${problem.hint}`,
    );
    this.name = 'RedisMisconfiguredError';
    this.problem = problem;
  }
}

/**
 * A short, safe description of a value for an error message: strings quoted, functions named as
 * such, objects as JSON when possible.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  try {
    return String(JSON.stringify(value) ?? value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function explain(cause: unknown, problem: Problem | undefined): string {
  if (problem !== undefined) return `${problem.message}. ${problem.hint}`;
  if (cause instanceof Error) return cause.message;
  return String(cause);
}
