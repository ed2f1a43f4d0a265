import { diagnoseRedisError } from '@x/breaker';

/** What went wrong with a connection attempt, and what to check. */
export interface ConnectionHint {
  /**
   * `misconfiguration`: waiting does not fix it (wrong password, TLS, credentials provider);
   * `outage`: the server is down, unreachable or slow, and may come back.
   */
  readonly type: 'misconfiguration' | 'outage';
  /** What happened, in the words of the server or the operating system (no trailing period). */
  readonly what: string;
  /** What to check or change. */
  readonly hint: string;
}

/**
 * Explains a connection error with the one table of Redis failures (`diagnoseRedisError` of
 * `@x/breaker`, also behind the diagnosis of `@x/connection` and `x-redis-check`). `undefined`
 * when nothing is known about it.
 */
export function explainConnectionError(
  error: unknown,
  address: string,
  tls: boolean,
): ConnectionHint | undefined {
  const found = diagnoseRedisError(error, { address, tls, phase: 'connect' });
  if (found === undefined) return undefined;
  return {
    type: found.misconfiguration ? 'misconfiguration' : 'outage',
    what: describeError(error),
    // The provider's error already says what to do.
    hint: (error as { code?: unknown } | null)?.code === 'E_CREDENTIALS_PROVIDER' ? '' : found.hint,
  };
}

/**
 * The message of an error without our package prefix and trailing period; for a Cluster's
 * "Failed to refresh slots cache", with the last node's error, which says why.
 */
export function describeError(error: unknown): string {
  const text =
    typeof error === 'object' && error !== null && typeof (error as Error).message === 'string'
      ? (error as Error).message
      : String(error);
  const clean = (t: string): string => t.replace(/^\[@x\/config\] /, '').replace(/\.\s*$/, '');
  const last = (error as { lastNodeError?: unknown } | null)?.lastNodeError;
  return last instanceof Error
    ? `${clean(text)} (last node error: ${clean(last.message)})`
    : clean(text);
}
