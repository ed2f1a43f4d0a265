/**
 * The attribute names `@x/otel` sets. Low cardinality by construction: package and connection
 * names, states, kinds and outcomes from fixed sets, operation names chosen by the packages;
 * never a key, a pub/sub channel, a session or user id, or an error message.
 */
export const ATTRIBUTES = {
  /** The x package, e.g. `'@x/lock'` (`'@x/connection'` for a connection created directly). */
  package: 'x.package',
  /** The instance name, when the package was given one. */
  name: 'x.name',
  /** The connection's name: the package, `'@x/lock[1]'` for the second server of a quorum. */
  connection: 'x.connection',
  /** A state: of the connection, of the breaker, of the hybrid client's backend... */
  state: 'x.state',
  /** The kind of the connection's current problem (`'refused'`, `'timeout'`, `'auth'`...). */
  problemKind: 'x.problem.kind',
  /** Where a rate-limit decision came from, or what served a fallback. */
  source: 'x.source',
  /** How something ended: `'allowed'`/`'refused'`, `'redis'`/`'fallback'`/`'error'`... */
  outcome: 'x.outcome',
  /** A store operation of `@x/session` (`'create'`, `'get'`...). */
  operation: 'x.operation',
  /** Semantic conventions: always `'redis'`. */
  dbSystem: 'db.system.name',
  /** Semantic conventions: the traced operation (`'acquire'`, `'consume'`, `'get'`...). */
  dbOperation: 'db.operation.name',
  /** Semantic conventions: the error code or class of a failed call. */
  errorType: 'error.type',
} as const;

/** Attribute values: strings only (numbers and arrays are never needed here). */
export type Attributes = Record<string, string>;

const PACKAGE_PREFIX = '@x/';

/**
 * The package of a connection name: `'@x/lock[1]'` and `'@x/pubsub:subscriber'` give `'@x/lock'`
 * and `'@x/pubsub'`; a connection the application created and named itself gives
 * `'@x/connection'`.
 */
export function packageOf(connection: string): string {
  if (!connection.startsWith(PACKAGE_PREFIX)) return '@x/connection';
  const end = connection.search(/[[:\s]/);
  return end === -1 ? connection : connection.slice(0, end);
}

const CODE = /^[A-Za-z][\w.-]{0,63}$/;

/**
 * The `error.type` of an error (semantic conventions): its `code` when it has a short one
 * (`'E_LOCK_UNAVAILABLE'`, `'ECONNREFUSED'`), else its class name (`'ReplyError'`), else
 * `'_OTHER'`. Never the message, which may carry a key.
 */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && CODE.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && CODE.test(name) && name !== 'Error') return name;
    const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === 'string' && CODE.test(ctor)) return ctor;
  }
  return '_OTHER';
}
