import { isBreakerError } from './errors.js';

/**
 * What kind of failure an error from a Redis call is.
 *
 * - `'connection'`: no usable link (refused, reset, closed, offline queue disabled, retries
 *   exhausted, sentinels unreachable, and this package's own `BreakerOpenError`).
 * - `'timeout'`: no answer in time (ioredis `commandTimeout`, connect timeout, socket timeout,
 *   `BUSY` script, and this package's own `GuardTimeoutError`).
 * - `'auth'`: credentials, ACL permissions or TLS certificates rejected.
 * - `'network'`: the host cannot be resolved or reached.
 * - `'cluster'`: cluster topology trouble (redirections, cluster down, slots refresh failed,
 *   `MASTERDOWN`).
 * - `'readonly'`: the server refuses writes (`READONLY` replica, `OOM`, `NOREPLICAS`).
 * - `'loading'`: the server is up but not serving yet (`LOADING`).
 * - `'command'`: Redis answered and rejected this command (`WRONGTYPE`, `ERR`, `NOSCRIPT`...), or
 *   ioredis refused a call that can never work (a plain command in subscriber mode, a pipeline
 *   across slots): the caller's problem, never an outage.
 * - `'unknown'`: anything else.
 */
export type RedisErrorKind =
  | 'connection'
  | 'timeout'
  | 'auth'
  | 'network'
  | 'cluster'
  | 'readonly'
  | 'loading'
  | 'command'
  | 'unknown';

// Node / libuv error codes (also set on AggregateError from multi-address connects).
const CODE_KINDS: Readonly<Record<string, RedisErrorKind>> = {
  ECONNREFUSED: 'connection',
  ECONNRESET: 'connection',
  ECONNABORTED: 'connection',
  EPIPE: 'connection',
  ERR_STREAM_DESTROYED: 'connection',
  ERR_STREAM_WRITE_AFTER_END: 'connection',
  ERR_SOCKET_CLOSED: 'connection',
  ETIMEDOUT: 'timeout',
  // @x/health's PING deadline.
  E_HEALTH_TIMEOUT: 'timeout',
  // @x/connection: a call refused while a Sentinel failover replaces the primary.
  E_REDIS_FAILOVER: 'connection',
  ESOCKETTIMEDOUT: 'timeout',
  EHOSTUNREACH: 'network',
  EHOSTDOWN: 'network',
  ENETUNREACH: 'network',
  ENETDOWN: 'network',
  ENOTFOUND: 'network',
  EAI_AGAIN: 'network',
  EAI_FAIL: 'network',
  EADDRNOTAVAIL: 'network',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'auth',
  SELF_SIGNED_CERT_IN_CHAIN: 'auth',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'auth',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'auth',
  CERT_HAS_EXPIRED: 'auth',
  ERR_TLS_CERT_ALTNAME_INVALID: 'auth',
  // @x/config: the credentials provider failed or timed out, or Redis refused its credentials.
  E_CREDENTIALS_PROVIDER: 'auth',
  E_CREDENTIALS_REJECTED: 'auth',
};

// Errors that wrap the reason why a client has no usable connection (@x/config's
// RedisNotConnectedError carries the last connection error as its `cause`): the reason decides
// (a WRONGPASS cause is 'auth'); without a known one they mean "no usable link".
const WRAPPER_KINDS: Readonly<Record<string, RedisErrorKind>> = {
  E_REDIS_NOT_CONNECTED: 'connection',
};

// First word of a Redis error reply.
const REPLY_KINDS: Readonly<Record<string, RedisErrorKind>> = {
  NOAUTH: 'auth',
  WRONGPASS: 'auth',
  NOPERM: 'auth',
  READONLY: 'readonly',
  OOM: 'readonly',
  NOREPLICAS: 'readonly',
  LOADING: 'loading',
  BUSY: 'timeout',
  MASTERDOWN: 'cluster',
  MOVED: 'cluster',
  ASK: 'cluster',
  TRYAGAIN: 'cluster',
  CLUSTERDOWN: 'cluster',
  CROSSSLOT: 'command',
};

// ioredis error class names.
const NAME_KINDS: Readonly<Record<string, RedisErrorKind>> = {
  MaxRetriesPerRequestError: 'connection',
  ClusterAllFailedError: 'cluster',
};

// ioredis messages that carry no code. Checked with startsWith, in order.
const MESSAGE_KINDS: ReadonlyArray<readonly [string, RedisErrorKind]> = [
  ['Command timed out', 'timeout'],
  ['Socket timeout', 'timeout'],
  ['connect ETIMEDOUT', 'timeout'],
  ['Connection is closed', 'connection'],
  ["Stream isn't writeable", 'connection'],
  ['Reached the max retries per request limit', 'connection'],
  ['Command aborted due to connection close', 'connection'],
  ['Connection is aborted', 'connection'],
  ['Connection is discarded', 'connection'],
  ['Node is disconnected', 'connection'],
  ['All sentinels are unreachable', 'connection'],
  ['Failed to refresh slots cache', 'cluster'],
  ['None of startup nodes is available', 'cluster'],
  ["Cluster isn't ready", 'cluster'],
  ['Cluster is disconnect', 'cluster'],
  ['Too many Cluster redirections', 'cluster'],
  ['Cluster is ended', 'connection'],
  ['No subscriber for the cluster', 'cluster'],
  // ioredis refusing a call that can never work: the caller's bug, like a Redis error reply.
  ['Connection in subscriber mode', 'command'],
  ['Connection is in monitoring mode', 'command'],
  ['All the keys in a pipeline command should belong', 'command'],
  ['All keys in the pipeline should belong', 'command'],
  ['Pipeline cannot be used', 'command'],
  ['Possible CROSSSLOT error', 'command'],
  ['Redis is already connecting/connected', 'command'],
  ['ERR AUTH', 'auth'],
  ['ERR invalid password', 'auth'],
  ['ERR Client sent AUTH', 'auth'],
];

const READY_CHECK = 'Ready check failed: ';

/**
 * Classifies an error from a Redis call (ioredis, Node's net/tls/dns, or this package) into a
 * {@link RedisErrorKind}. Looks at, in order: this package's own errors, the Node error `code`,
 * the ioredis error class `name`, the first word of a Redis error reply, known ioredis messages,
 * then the `cause` chain (up to 3 levels). Never throws.
 */
export function classifyRedisError(error: unknown): RedisErrorKind {
  let current: unknown = error;
  let fallback: RedisErrorKind = 'unknown';
  for (let depth = 0; depth < 4; depth++) {
    const wrapper = wrapperKind(current);
    if (wrapper === undefined) {
      const kind = classifyOne(current);
      if (kind !== 'unknown') return kind;
    } else if (fallback === 'unknown') {
      fallback = wrapper;
    }
    if (typeof current !== 'object' || current === null) return fallback;
    const next = (current as { cause?: unknown }).cause;
    if (next === undefined || next === current) return fallback;
    current = next;
  }
  return fallback;
}

function wrapperKind(error: unknown): RedisErrorKind | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? WRAPPER_KINDS[code] : undefined;
}

/**
 * True when the error means Redis is not usable (every kind except `'command'`): this is what
 * trips a breaker and sends a guard to its fallback. A `WRONGTYPE` reply is the caller's bug and
 * returns false.
 */
export function isInfrastructureError(error: unknown): boolean {
  return classifyRedisError(error) !== 'command';
}

function classifyOne(error: unknown): RedisErrorKind {
  if (typeof error !== 'object' || error === null) {
    return typeof error === 'string' ? classifyMessage(error, false) : 'unknown';
  }
  if (isBreakerError(error)) {
    if (error.code === 'E_GUARD_TIMEOUT') return 'timeout';
    if (error.code === 'E_BREAKER_OPEN') return 'connection';
    return 'unknown';
  }
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string') {
    const kind = CODE_KINDS[e.code];
    if (kind !== undefined) return kind;
    if (e.code.startsWith('ERR_SSL_')) return 'auth';
  }
  if (typeof e.name === 'string') {
    const kind = NAME_KINDS[e.name];
    if (kind !== undefined) return kind;
  }
  if (typeof e.message !== 'string') return 'unknown';
  return classifyMessage(e.message, e.name === 'ReplyError');
}

function classifyMessage(message: string, isReply: boolean): RedisErrorKind {
  // ioredis wraps the reply that failed its ready check: "Ready check failed: NOAUTH ...".
  if (message.startsWith(READY_CHECK)) {
    const inner = classifyMessage(message.slice(READY_CHECK.length), false);
    return inner === 'unknown' || inner === 'command' ? 'connection' : inner;
  }
  const space = message.indexOf(' ');
  const word = space === -1 ? message : message.slice(0, space);
  const replyKind = REPLY_KINDS[word] ?? CODE_KINDS[word];
  if (replyKind !== undefined) return replyKind;
  for (const [prefix, kind] of MESSAGE_KINDS) {
    if (message.startsWith(prefix)) return kind;
  }
  // Any other all-caps first word is a Redis error reply (ERR, WRONGTYPE, NOSCRIPT, EXECABORT...).
  if (isReply || /^[A-Z][A-Z_]+$/.test(word)) return 'command';
  // Node's own messages name the code after the syscall: "connect ECONNREFUSED 127.0.0.1:6379".
  const code = /\b(E[A-Z_]{3,})\b/.exec(message)?.[1];
  return (code !== undefined && CODE_KINDS[code]) || 'unknown';
}
