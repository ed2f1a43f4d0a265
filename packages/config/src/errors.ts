const BRAND: unique symbol = Symbol.for('@x/config.error') as never;

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Field path, e.g. `'port'`, `'tls.caFile'`, `'clusterNodes[1]'` (`''` for the whole input). */
  readonly path: string;
  /** What is wrong, without any secret, e.g. `'must be an integer 1..65535, got 70000'`. */
  readonly message: string;
}

/**
 * A configuration is invalid. `issues` lists every problem at once; the message repeats them.
 * Secrets (passwords, credentials inside URLs) never appear in either.
 */
export class ConfigError extends Error {
  /** Stable code. */
  readonly code = 'E_CONFIG' as const;
  /** Every problem found, each with its field path. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const list = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`[@x/config] invalid Redis configuration (${count}): ${list}`, options);
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Brand check for {@link ConfigError}; survives two installed copies of this package. */
export function isConfigError(error: unknown): error is ConfigError {
  return typeof error === 'object' && error !== null && (error as never)[BRAND] === true;
}

const NOT_CONNECTED_BRAND: unique symbol = Symbol.for('@x/config.not-connected') as never;
const CREDENTIALS_BRAND: unique symbol = Symbol.for('@x/config.credentials') as never;

/**
 * A command (or `waitForReady`) found the client without a usable connection. `cause` is the error
 * of the last failed connection attempt (`WRONGPASS`, `NOAUTH`, `ECONNREFUSED`, `ENOTFOUND`, a TLS
 * error, a credentials error...) when there was one; the message repeats it and says what to check.
 */
export class RedisNotConnectedError extends Error {
  /** Stable code. */
  readonly code = 'E_REDIS_NOT_CONNECTED' as const;
  /** Where the client connects: `host:port`, the Sentinel master name, or the Cluster nodes. */
  readonly address: string;
  /** The ioredis `status` of the client at that moment (`connecting`, `reconnecting`, `end`...). */
  readonly status: string;

  constructor(message: string, address: string, status: string, cause?: unknown) {
    super(`[@x/config] ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'RedisNotConnectedError';
    this.address = address;
    this.status = status;
    Object.defineProperty(this, NOT_CONNECTED_BRAND, { value: true });
  }
}

/** Brand check for {@link RedisNotConnectedError}; survives two installed copies of this package. */
export function isRedisNotConnectedError(error: unknown): error is RedisNotConnectedError {
  return (
    typeof error === 'object' && error !== null && (error as never)[NOT_CONNECTED_BRAND] === true
  );
}

/** Codes of {@link CredentialsError}. */
export type CredentialsErrorCode = 'E_CREDENTIALS_PROVIDER' | 'E_CREDENTIALS_REJECTED';

/**
 * The `credentials` provider failed, or Redis refused what it returned:
 * - `E_CREDENTIALS_PROVIDER`: the provider threw, returned something that is not
 *   `{ username?, password, expiresAt? }`, or did not settle in time (`cause`: its error);
 * - `E_CREDENTIALS_REJECTED`: Redis answered `AUTH` with an error (`cause`: the reply, e.g.
 *   `WRONGPASS ...`; `serverMessage`: its text).
 *
 * A connection attempt that fails this way is retried with fresh credentials; an open connection
 * whose refresh fails keeps serving (it is still authenticated). Classified `'auth'` by
 * `classifyRedisError` of `@x/breaker`. Never contains the password.
 */
export class CredentialsError extends Error {
  /** Stable code. */
  readonly code: CredentialsErrorCode;
  /** Where the connection goes (`host:port`). */
  readonly address: string;
  /** The server's words for `E_CREDENTIALS_REJECTED`. */
  readonly serverMessage: string | undefined;

  constructor(
    code: CredentialsErrorCode,
    message: string,
    options: { address: string; serverMessage?: string; cause?: unknown },
  ) {
    super(
      `[@x/config] ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'CredentialsError';
    this.code = code;
    this.address = options.address;
    this.serverMessage = options.serverMessage;
    Object.defineProperty(this, CREDENTIALS_BRAND, { value: true });
  }
}

/** Brand check for {@link CredentialsError}; survives two installed copies of this package. */
export function isCredentialsError(error: unknown): error is CredentialsError {
  return (
    typeof error === 'object' && error !== null && (error as never)[CREDENTIALS_BRAND] === true
  );
}
