/**
 * What is wrong with the way to Redis, in one word.
 *
 * - `'refused'`: nothing accepts connections at the address, or the server dropped the connection.
 * - `'timeout'`: no answer in time (frozen or overloaded server, packets dropped).
 * - `'dns'`: the host name does not resolve.
 * - `'tls'`: TLS on one side only, or an untrusted / mismatched certificate.
 * - `'auth'`: wrong or missing password, disabled user, failing credentials provider.
 * - `'permission'`: the ACL user may not run a command this package needs; protected mode.
 * - `'mode-mismatch'`: standalone client on a Cluster node (or a Sentinel), Cluster client on a
 *   standalone server, db index out of range or not 0 on a Cluster.
 * - `'readonly'`: connected to a read-only replica.
 * - `'loading'`: the server is loading its dataset.
 * - `'oom'`: the server reached `maxmemory` and refuses writes.
 * - `'unknown'`: anything else (the message says what).
 */
export type ProblemKind =
  | 'refused'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'auth'
  | 'permission'
  | 'mode-mismatch'
  | 'readonly'
  | 'loading'
  | 'oom'
  | 'unknown';

/** The current problem of a connection: what is wrong, in the server's words, and what to do. */
export interface Problem {
  /** What kind of problem (see {@link ProblemKind}). */
  readonly kind: ProblemKind;
  /** What happened, in the server's (or the operating system's) own words. */
  readonly message: string;
  /** What to change or check. */
  readonly hint: string;
  /** Epoch ms when this problem was first seen (kept while the same problem repeats). */
  readonly since: number;
  /**
   * True for a setup error that waiting does not fix (`auth`, `permission`, `tls`, `dns`,
   * `mode-mismatch`): reported at once, at error level.
   */
  readonly misconfiguration: boolean;
}

/** A problem before it is dated: what {@link diagnose} returns. */
export type Finding = Omit<Problem, 'since'>;

/** What {@link diagnose} knows about the connection, to write a precise hint. */
export interface DiagnoseContext {
  /** `host:port` the client talks to (the first startup node for a Cluster). */
  address?: string | undefined;
  /** The client is an ioredis `Cluster`. */
  cluster?: boolean | undefined;
  /** The client uses TLS. */
  tls?: boolean | undefined;
  /** The deadline that a timeout exceeded, in ms. */
  timeoutMs?: number | undefined;
  /** The db index the client selects. */
  db?: number | undefined;
}

/** The kinds that are setup errors rather than outages. */
export const MISCONFIGURATIONS: ReadonlySet<ProblemKind> = new Set<ProblemKind>([
  'auth',
  'permission',
  'tls',
  'dns',
  'mode-mismatch',
]);

interface Rule {
  kind: ProblemKind;
  /** Matches the error code (Node / libuv / this project's codes). */
  codes?: readonly string[];
  /** Matches the start of the message (first word of a Redis reply, or an ioredis text). */
  prefixes?: readonly string[];
  /** Matches anywhere in the message. */
  includes?: readonly string[];
  hint(ctx: DiagnoseContext, message: string): string;
}

const at = (ctx: DiagnoseContext): string => (ctx.address ? ` at ${ctx.address}` : '');

// Checked in order; the first rule that matches wins. Each one names what to change.
const RULES: readonly Rule[] = [
  {
    kind: 'auth',
    codes: ['E_CREDENTIALS_PROVIDER'],
    hint: () =>
      'the credentials provider failed or timed out: fix it; open connections keep serving until their own credentials expire',
  },
  {
    kind: 'auth',
    codes: ['E_CREDENTIALS_REJECTED'],
    hint: () =>
      'Redis refused the credentials the provider returned: check what it returns (user, password or token, its expiry) against the ACL user on the server',
  },
  {
    kind: 'auth',
    prefixes: ['WRONGPASS', 'ERR invalid password', 'ERR invalid username-password'],
    hint: () =>
      'the username or password is wrong, or the user is disabled: check REDIS_USERNAME / REDIS_PASSWORD or the user:password of REDIS_URL',
  },
  {
    kind: 'auth',
    prefixes: ['NOAUTH'],
    hint: () =>
      'the server requires a password and none was sent: set REDIS_PASSWORD, or put it in the URL (redis://:password@host:port)',
  },
  {
    kind: 'auth',
    prefixes: ['ERR AUTH', 'ERR Client sent AUTH'],
    hint: () =>
      'the server has no password for this user: remove the password from the URL / REDIS_PASSWORD, or set one on the server',
  },
  {
    kind: 'permission',
    prefixes: ['NOPERM'],
    hint: () =>
      'the ACL user may not run this command, touch this key or use this channel: grant it on the server (e.g. ACL SETUSER <user> +@read +@write +@scripting +@pubsub ~<key prefix>* &<channel pattern>) or use a user that may',
  },
  {
    kind: 'permission',
    prefixes: ['DENIED'],
    hint: () =>
      'the server runs in protected mode and refuses remote clients: set a password (requirepass) or bind it to the right interface on the server',
  },
  {
    kind: 'mode-mismatch',
    prefixes: ['MOVED', 'ASK'],
    hint: (ctx) =>
      ctx.cluster
        ? 'the Cluster moved slots faster than the client followed: it retries by itself'
        : 'this server is a Cluster node: use a Cluster client (REDIS_CLUSTER_MODE=true with REDIS_CLUSTER_NODES)',
  },
  {
    kind: 'mode-mismatch',
    includes: ['cluster support disabled'],
    hint: () =>
      'this server is not part of a Cluster: drop REDIS_CLUSTER_MODE and connect to it as a standalone server (REDIS_URL)',
  },
  {
    kind: 'mode-mismatch',
    prefixes: ['ERR SELECT is not allowed in cluster mode'],
    hint: () => 'a Cluster has only db 0: remove the db from REDIS_URL / REDIS_DB',
  },
  {
    kind: 'mode-mismatch',
    prefixes: ['ERR DB index is out of range'],
    hint: (ctx) =>
      `the server has fewer databases than db ${ctx.db ?? '(the one selected)'}: use a db from 0 to databases-1 (Redis' \`databases\` setting, 16 by default)`,
  },
  {
    kind: 'mode-mismatch',
    prefixes: ['ERR unknown command'],
    includes: ['sentinel'],
    hint: () =>
      'this address is a Sentinel, not a data node: use REDIS_SENTINELS and REDIS_SENTINEL_NAME',
  },
  {
    kind: 'tls',
    codes: [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
      'CERT_UNTRUSTED',
    ],
    hint: () =>
      "the server's TLS certificate is not trusted: give its CA (REDIS_TLS_CA_FILE or tls.ca), or for development only REDIS_TLS_SKIP_VERIFY=true",
  },
  {
    kind: 'tls',
    codes: ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'],
    hint: () => "the server's TLS certificate is expired or not yet valid: renew it on the server",
  },
  {
    kind: 'tls',
    codes: ['ERR_TLS_CERT_ALTNAME_INVALID'],
    hint: () =>
      "the server's TLS certificate does not name this host: connect by the name in the certificate, or set REDIS_TLS_SERVERNAME",
  },
  {
    kind: 'tls',
    codes: ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'],
    includes: ['wrong version number', 'before secure TLS connection was established'],
    hint: () =>
      'the server does not speak TLS here: use redis:// instead of rediss:// (or turn REDIS_TLS off), or the TLS port of the server',
  },
  {
    kind: 'tls',
    codes: [],
    prefixes: ['ERR_SSL_'],
    hint: () => 'the TLS handshake failed: check the TLS settings of the client and the server',
  },
  {
    kind: 'dns',
    codes: ['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME'],
    hint: (ctx) =>
      `the host name${at(ctx)} does not resolve: check the host of REDIS_URL / REDIS_HOST, and this machine's DNS`,
  },
  {
    kind: 'refused',
    codes: ['ECONNREFUSED'],
    hint: (ctx) =>
      `nothing accepts connections${at(ctx)}: start Redis there, or fix the host and port (REDIS_URL, REDIS_HOST, REDIS_PORT)`,
  },
  {
    kind: 'refused',
    codes: ['ECONNRESET', 'EPIPE', 'ECONNABORTED'],
    hint: (ctx) =>
      ctx.tls
        ? `the server${at(ctx)} dropped the connection: it restarted or was killed, or it reached maxclients`
        : `the server${at(ctx)} dropped the connection: it restarted or was killed, it reached maxclients, or it expects TLS (use rediss://)`,
  },
  {
    kind: 'refused',
    codes: ['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'],
    hint: (ctx) =>
      `no route to the server${at(ctx)}: check the address and the network between this machine and Redis`,
  },
  {
    kind: 'timeout',
    codes: ['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'E_GUARD_TIMEOUT', 'E_HEALTH_TIMEOUT'],
    prefixes: ['Command timed out', 'Socket timeout', 'connect ETIMEDOUT', 'BUSY'],
    hint: (ctx) =>
      `Redis${at(ctx)} does not answer${ctx.timeoutMs ? ` within ${ctx.timeoutMs} ms` : ' in time'}: it may be frozen, overloaded or running a long script, or a firewall drops the traffic`,
  },
  {
    kind: 'readonly',
    prefixes: ['READONLY'],
    hint: () =>
      'the server is a read-only replica: point at the primary, or use Sentinel so that failovers are followed',
  },
  {
    kind: 'loading',
    prefixes: ['LOADING'],
    hint: () => 'Redis is loading its dataset into memory: it answers again once it is done',
  },
  {
    kind: 'oom',
    prefixes: ['OOM'],
    hint: () =>
      'Redis reached maxmemory and refuses writes: set an evicting maxmemory-policy (allkeys-lru for a cache) or raise maxmemory',
  },
  {
    kind: 'refused',
    prefixes: ['MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN'],
    hint: () =>
      'the deployment has no usable primary for this data right now (failover in progress, or the cluster is down)',
  },
  {
    kind: 'refused',
    prefixes: ['All sentinels are unreachable', 'None of startup nodes is available'],
    hint: () =>
      'none of the configured addresses answers: check REDIS_SENTINELS / REDIS_CLUSTER_NODES and that those servers run',
  },
];

// Messages that only say "not connected": they add nothing to what the connection already knows
// (the reason came earlier, as a connection error).
const UNINFORMATIVE = [
  'Connection is closed',
  "Stream isn't writeable",
  "Cluster isn't ready",
  'Cluster is disconnect',
  'Cluster is ended',
  'Command aborted due to connection close',
  'Connection is aborted',
  'Connection is discarded',
  'Node is disconnected',
  'Reached the max retries per request limit',
  'No subscriber for the cluster',
];

// Replies that are the caller's bug, not the deployment's: never a problem of the connection.
const COMMAND_ERRORS =
  /^(WRONGTYPE|EXECABORT|NOSCRIPT|CROSSSLOT|ERR (wrong number|syntax|value is not|unknown subcommand|Error running script|user_script|invalid expire)|Connection in subscriber mode)/;

/**
 * What an error from a Redis call or connection attempt says about the deployment, or `undefined`
 * when it says nothing new (a command error such as `WRONGTYPE`, or a bare "connection is closed"
 * whose reason was reported before). Looks at the error, its `lastNodeError` (Cluster) and its
 * `cause` chain. Never throws.
 */
export function diagnose(error: unknown, ctx: DiagnoseContext = {}): Finding | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const found = diagnoseOne(current, ctx);
    if (found !== undefined) return found;
    const e = current as { lastNodeError?: unknown; cause?: unknown };
    current = e.lastNodeError ?? e.cause;
    if (current === error) break;
  }
  return undefined;
}

/** A problem for "no answer within `ms`" when no error said more. */
export function noAnswer(ms: number, ctx: DiagnoseContext = {}): Finding {
  return finding(
    'timeout',
    `no answer within ${ms} ms`,
    RULE_TIMEOUT.hint({ ...ctx, timeoutMs: ms }, ''),
  );
}

/** Dates a finding (keeps `since` when `previous` is the same problem). */
export function toProblem(
  found: Finding,
  previous: Problem | undefined,
  now = Date.now(),
): Problem {
  if (
    previous !== undefined &&
    previous.kind === found.kind &&
    previous.message === found.message
  ) {
    return previous;
  }
  return { ...found, since: now };
}

/**
 * A one-line description of a problem for logs and error messages: kind, the server's words and
 * the hint.
 */
export function describeProblem(problem: Pick<Problem, 'kind' | 'message' | 'hint'>): string {
  return `${problem.kind}: ${problem.message} (${problem.hint})`;
}

const RULE_TIMEOUT = RULES.find((r) => r.kind === 'timeout')!;

function diagnoseOne(error: unknown, ctx: DiagnoseContext): Finding | undefined {
  if (typeof error !== 'object' && typeof error !== 'string') return undefined;
  const e = (typeof error === 'string' ? { message: error } : error) as {
    code?: unknown;
    message?: unknown;
    name?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // @x/config's "not connected" error only wraps the reason: its cause is diagnosed instead.
  if (code === 'E_REDIS_NOT_CONNECTED') return undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  const text = message.startsWith('Ready check failed: ')
    ? message.slice('Ready check failed: '.length)
    : message;
  if (text !== '' && COMMAND_ERRORS.test(text)) return undefined;
  for (const rule of RULES) {
    if (matches(rule, code, text))
      return finding(rule.kind, clean(text || code || ''), rule.hint(ctx, text));
  }
  if (code === undefined && UNINFORMATIVE.some((p) => text.startsWith(p))) return undefined;
  if (e.name === 'BreakerError' || code === 'E_BREAKER_OPEN') return undefined;
  return undefined;
}

function matches(rule: Rule, code: string | undefined, text: string): boolean {
  if (code !== undefined && rule.codes?.includes(code)) return true;
  if (rule.prefixes !== undefined && rule.includes !== undefined && rule.codes === undefined) {
    // Both given: the message must start with a prefix and contain one of the words.
    return (
      rule.prefixes.some((p) => text.startsWith(p)) &&
      rule.includes.some((w) => text.toLowerCase().includes(w))
    );
  }
  if (
    code !== undefined &&
    rule.prefixes?.some((p) => p.startsWith('ERR_') && code.startsWith(p))
  ) {
    return true;
  }
  if (rule.prefixes?.some((p) => text.startsWith(p))) return true;
  return rule.includes?.some((w) => text.includes(w)) === true;
}

function finding(kind: ProblemKind, message: string, hint: string): Finding {
  return { kind, message, hint, misconfiguration: MISCONFIGURATIONS.has(kind) };
}

// Redis replies end with a period; the hint follows our own punctuation.
function clean(message: string): string {
  return message.replace(/\.\s*$/, '');
}
