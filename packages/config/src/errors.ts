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
