/**
 * What is wrong with the way to Redis, in one word (the `kind` of a {@link RedisDiagnosis}).
 *
 * - `'refused'`: nothing accepts connections at the address, or the server dropped the connection.
 * - `'timeout'`: no answer in time (frozen or overloaded server, packets dropped).
 * - `'dns'`: the host name does not resolve.
 * - `'tls'`: TLS on one side only, or an untrusted / mismatched certificate.
 * - `'auth'`: wrong or missing password, disabled user, failing credentials provider.
 * - `'permission'`: the ACL user may not run a command; protected mode.
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

/** What an error says about a Redis deployment: what is wrong and what to do. */
export interface RedisDiagnosis {
  /** What kind of problem (see {@link ProblemKind}). */
  readonly kind: ProblemKind;
  /** What happened, in the server's (or the operating system's) own words, no trailing period. */
  readonly message: string;
  /** What to change or check. */
  readonly hint: string;
  /**
   * True for a setup error that waiting does not fix (a wrong password, a TLS mismatch, an unknown
   * host, standalone vs Cluster...): report it at once, at error level.
   */
  readonly misconfiguration: boolean;
}

/** What {@link diagnoseRedisError} knows about the connection, to write a precise hint. */
export interface DiagnoseContext {
  /** `host:port` the client talks to (or a description: `master "name" via Sentinel`). */
  address?: string | undefined;
  /** The client is an ioredis `Cluster`. */
  cluster?: boolean | undefined;
  /** The client uses TLS. */
  tls?: boolean | undefined;
  /** The deadline that a timeout exceeded, in ms. */
  timeoutMs?: number | undefined;
  /** The db index the client selects. */
  db?: number | undefined;
  /**
   * `'connect'` when the error ended a connection attempt (the handshake: AUTH, SELECT, INFO),
   * `'command'` for the reply to a command.
   * @default 'command'
   */
  phase?: 'connect' | 'command' | undefined;
}

/** The kinds that are setup errors rather than outages (unless a rule says otherwise). */
export const MISCONFIGURATIONS: ReadonlySet<ProblemKind> = new Set<ProblemKind>([
  'auth',
  'permission',
  'tls',
  'dns',
  'mode-mismatch',
]);

interface Rule {
  kind: ProblemKind;
  /** Matches the error code (Node / libuv / x codes). */
  codes?: readonly string[];
  /** Matches a code starting with one of these. */
  codePrefixes?: readonly string[];
  /** Matches the start of the message (first word of a Redis reply, or an ioredis text). */
  prefixes?: readonly string[];
  /** Matches anywhere in the message (with `prefixes`: both must match). */
  includes?: readonly string[];
  /** Overrides the kind's default (see {@link MISCONFIGURATIONS}). */
  misconfiguration?: boolean;
  hint(ctx: DiagnoseContext): string;
}

const at = (ctx: DiagnoseContext): string => (ctx.address ? ` at ${ctx.address}` : '');
const within = (ctx: DiagnoseContext): string =>
  ctx.timeoutMs ? ` within ${ctx.timeoutMs} ms` : ' in time';

// Checked in order, each against the whole error chain (the error, its `lastNodeError`, its
// `cause`...): the first rule that matches anywhere wins, so a precise reason buried in a Cluster
// error ("cluster support disabled" inside "Failed to refresh slots cache") beats the generic one.
// Every hint says what to change.
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
      'Redis refused the credentials the provider returned: check the user, the token or password it returns, its expiry, and the ACL user on the server',
  },
  {
    kind: 'auth',
    prefixes: ['WRONGPASS', 'ERR invalid password', 'ERR invalid username-password'],
    hint: () =>
      'the user name or password is wrong, or the user is disabled: check REDIS_USERNAME / REDIS_PASSWORD or the user:password of REDIS_URL',
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
      'the server has no password for this user: remove the password from REDIS_URL / REDIS_PASSWORD, or set one on the server',
  },
  {
    kind: 'permission',
    prefixes: ['NOPERM'],
    hint: (ctx) =>
      ctx.phase === 'connect'
        ? 'the ACL user may not run a command the client sends when it connects (AUTH, HELLO, SELECT, INFO, CLIENT): grant it on the server'
        : 'the ACL user may not run this command, touch this key or use this channel: grant it on the server (e.g. ACL SETUSER <user> +@read +@write +@scripting +@pubsub ~<key prefix>* &<channel pattern>) or use a user that may',
  },
  {
    kind: 'permission',
    prefixes: ['DENIED'],
    hint: () =>
      'the server runs in protected mode and refuses remote clients: set a password (requirepass) or bind it to the right interface on the server',
  },
  {
    kind: 'mode-mismatch',
    includes: ['cluster support disabled'],
    hint: () =>
      'this server is not part of a Cluster: drop REDIS_CLUSTER_MODE and connect to it as a standalone server (REDIS_URL)',
  },
  {
    kind: 'mode-mismatch',
    prefixes: ['MOVED', 'ASK '],
    hint: (ctx) =>
      ctx.cluster
        ? 'the Cluster moved slots faster than the client followed: it retries by itself'
        : 'this server is a Cluster node: use a Cluster client (REDIS_CLUSTER_MODE=true with REDIS_CLUSTER_NODES)',
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
      'the server does not speak TLS on this port: use redis:// instead of rediss:// (or REDIS_TLS=false), or the TLS port of the server',
  },
  {
    kind: 'tls',
    codePrefixes: ['ERR_SSL_', 'ERR_TLS_'],
    codes: ['EPROTO'],
    hint: () => 'the TLS handshake failed: check the TLS settings of the client and the server',
  },
  {
    kind: 'dns',
    codes: ['ENOTFOUND', 'EAI_FAIL', 'EAI_NONAME'],
    hint: (ctx) =>
      `the host name${at(ctx)} does not resolve: check the host of REDIS_URL / REDIS_HOST, and this machine's DNS`,
  },
  {
    kind: 'dns',
    codes: ['EAI_AGAIN'],
    misconfiguration: false,
    hint: (ctx) =>
      `the name${at(ctx)} could not be resolved right now (DNS did not answer): check this machine's DNS`,
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
        : `the server${at(ctx)} dropped the connection: it restarted or was killed, it reached maxclients, or it expects TLS on this port (use rediss://)`,
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
      `Redis${at(ctx)} does not answer${within(ctx)}: it may be frozen, overloaded or running a long script, or a firewall drops the traffic${ctx.tls ? ', or the server does not speak TLS on this port (use redis://)' : ''}`,
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
    prefixes: ['All sentinels are unreachable'],
    hint: () =>
      'no Sentinel answered, or none knows the master: check REDIS_SENTINELS, REDIS_SENTINEL_NAME and the sentinel credentials',
  },
  {
    kind: 'refused',
    prefixes: ['Failed to refresh slots cache', 'None of startup nodes is available'],
    hint: () =>
      'no Cluster node answered CLUSTER SLOTS: check REDIS_CLUSTER_NODES, the credentials, and that the nodes run in cluster mode',
  },
];

// Messages that only say "not connected": they add nothing to what a connection already knows
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

// Errors that only wrap the reason (their cause is diagnosed instead).
const WRAPPERS = new Set(['E_REDIS_NOT_CONNECTED']);

// Replies that are the caller's bug, not the deployment's.
const COMMAND_ERRORS =
  /^(WRONGTYPE|EXECABORT|NOSCRIPT|CROSSSLOT|ERR (wrong number|syntax|value is not|unknown subcommand|Error running script|user_script|invalid expire)|Connection in subscriber mode)/;

const READY_CHECK = 'Ready check failed: ';

interface Link {
  code: string | undefined;
  text: string;
}

/**
 * What an error from a Redis call or connection attempt says about the deployment: its
 * {@link ProblemKind}, the server's words, a hint saying what to change, and whether it is a
 * misconfiguration. `undefined` when it says nothing about the deployment: a command error such as
 * `WRONGTYPE` (the caller's bug), or a bare "connection is closed" whose reason was reported before.
 * Looks at the error, its `lastNodeError` (Cluster) and its `cause` chain. Never throws.
 * @example
 * const d = diagnoseRedisError(error, { address: '10.0.0.5:6379' });
 * if (d?.misconfiguration) log.error(`${d.kind}: ${d.message}. ${d.hint}`);
 */
export function diagnoseRedisError(
  error: unknown,
  ctx: DiagnoseContext = {},
): RedisDiagnosis | undefined {
  const chain = links(error);
  if (chain.length === 0) return undefined;
  // The caller's own bug anywhere in front: not a problem of the deployment.
  const first = chain[0]!;
  if (first.text !== '' && COMMAND_ERRORS.test(first.text)) return undefined;
  for (const rule of RULES) {
    for (const link of chain) {
      if (matches(rule, link)) {
        return {
          kind: rule.kind,
          message: clean(link.text || link.code || ''),
          hint: rule.hint(ctx),
          misconfiguration: rule.misconfiguration ?? MISCONFIGURATIONS.has(rule.kind),
        };
      }
    }
  }
  return undefined;
}

/** True for an error that only says "not connected" (see {@link diagnoseRedisError}). */
export function isUninformativeRedisError(error: unknown): boolean {
  const text = typeof error === 'object' && error !== null ? (error as Error).message : undefined;
  return typeof text === 'string' && UNINFORMATIVE.some((p) => text.startsWith(p));
}

function links(error: unknown): Link[] {
  const out: Link[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'string') {
      out.push({ code: undefined, text: current });
      break;
    }
    if (typeof current !== 'object') break;
    const e = current as {
      code?: unknown;
      message?: unknown;
      lastNodeError?: unknown;
      cause?: unknown;
    };
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code === undefined || !WRAPPERS.has(code)) {
      const message = typeof e.message === 'string' ? e.message : '';
      const text = message.startsWith(READY_CHECK) ? message.slice(READY_CHECK.length) : message;
      if (!(code === undefined && UNINFORMATIVE.some((p) => text.startsWith(p)))) {
        out.push({ code, text });
      }
    }
    const next = e.lastNodeError ?? e.cause;
    if (next === current) break;
    current = next;
  }
  return out;
}

function matches(rule: Rule, link: Link): boolean {
  const { code, text } = link;
  if (code !== undefined) {
    if (rule.codes?.includes(code)) return true;
    if (rule.codePrefixes?.some((p) => code.startsWith(p))) return true;
  }
  if (rule.prefixes !== undefined && rule.includes !== undefined && rule.codes === undefined) {
    const lower = text.toLowerCase();
    return (
      rule.prefixes.some((p) => text.startsWith(p)) && rule.includes.some((w) => lower.includes(w))
    );
  }
  if (rule.prefixes?.some((p) => text.startsWith(p))) return true;
  return rule.includes?.some((w) => text.includes(w)) === true;
}

// Redis replies end with a period; the hint follows our own punctuation.
function clean(message: string): string {
  return message.replace(/^\[@x\/[a-z-]+\] /, '').replace(/\.\s*$/, '');
}
