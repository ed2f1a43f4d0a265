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

interface Rule {
  readonly type: ConnectionHint['type'];
  readonly codes?: readonly string[];
  readonly prefixes?: readonly string[];
  readonly includes?: readonly string[];
  hint(address: string, tls: boolean): string;
}

// Checked in order on the error, then on its cause chain; the first match wins.
const RULES: readonly Rule[] = [
  {
    type: 'misconfiguration',
    codes: ['E_CREDENTIALS_PROVIDER'],
    // The error's own message already says what to do.
    hint: () => '',
  },
  {
    type: 'misconfiguration',
    codes: ['E_CREDENTIALS_REJECTED'],
    hint: () =>
      'Redis refused the credentials returned by the `credentials` function: check the user, the token or password it returns, and its ACL on the server',
  },
  {
    type: 'misconfiguration',
    prefixes: ['WRONGPASS', 'ERR invalid password', 'ERR invalid username-password'],
    hint: () =>
      'the user name or password is wrong, or the user is disabled: check REDIS_USERNAME / REDIS_PASSWORD or the user:password of REDIS_URL',
  },
  {
    type: 'misconfiguration',
    prefixes: ['NOAUTH'],
    hint: () =>
      'the server requires a password and none was sent: set REDIS_PASSWORD, or put it in the URL (redis://:password@host:port)',
  },
  {
    type: 'misconfiguration',
    prefixes: ['NOPERM'],
    hint: () =>
      'the ACL user may not run a command the client sends when it connects (AUTH, SELECT, INFO, CLIENT): grant it on the server',
  },
  {
    type: 'misconfiguration',
    codes: [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
      'CERT_UNTRUSTED',
    ],
    hint: () =>
      "the server's TLS certificate is not trusted: give its CA (REDIS_TLS_CA_FILE), or for development only REDIS_TLS_SKIP_VERIFY=true",
  },
  {
    type: 'misconfiguration',
    codes: ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'],
    hint: () => "the server's TLS certificate is expired or not yet valid: renew it on the server",
  },
  {
    type: 'misconfiguration',
    codes: ['ERR_TLS_CERT_ALTNAME_INVALID'],
    hint: () =>
      "the server's TLS certificate does not name this host: connect by the name in the certificate, or set REDIS_TLS_SERVERNAME",
  },
  {
    type: 'misconfiguration',
    codes: ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'],
    includes: ['wrong version number', 'before secure TLS connection was established'],
    hint: () =>
      'the server does not speak TLS on this port: use redis:// instead of rediss:// (or REDIS_TLS=false), or the TLS port of the server',
  },
  {
    type: 'misconfiguration',
    codes: ['ENOTFOUND', 'EAI_FAIL', 'EAI_NONAME'],
    hint: (address) =>
      `the host name of ${address} does not resolve: check the host in REDIS_URL / REDIS_HOST and this machine's DNS`,
  },
  {
    type: 'outage',
    codes: ['EAI_AGAIN'],
    hint: (address) =>
      `the name of ${address} could not be resolved right now (DNS did not answer): check this machine's DNS`,
  },
  {
    type: 'outage',
    codes: ['ECONNREFUSED'],
    hint: (address) =>
      `nothing accepts connections at ${address}: start Redis there, or fix the address (REDIS_URL, REDIS_HOST, REDIS_PORT)`,
  },
  {
    type: 'outage',
    codes: ['ECONNRESET', 'EPIPE', 'ECONNABORTED'],
    hint: (address, tls) =>
      tls
        ? `${address} dropped the connection: Redis restarted or was killed, or reached maxclients`
        : `${address} dropped the connection: Redis restarted or was killed, reached maxclients, or expects TLS on this port (use rediss://)`,
  },
  {
    type: 'outage',
    codes: ['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'],
    hint: (address) =>
      `no route to ${address}: check the address and the network between this machine and Redis`,
  },
  {
    type: 'outage',
    codes: ['ETIMEDOUT'],
    prefixes: ['connect ETIMEDOUT', 'Command timed out'],
    hint: (address, tls) =>
      `${address} did not answer in time: Redis may be frozen or overloaded, a firewall may drop the traffic, or ${tls ? 'the server does not speak TLS on this port (use redis://)' : 'the port expects TLS (use rediss://)'}`,
  },
  {
    type: 'outage',
    prefixes: ['LOADING', 'Ready check failed: LOADING'],
    hint: () => 'Redis is loading its dataset into memory: the client connects once it is done',
  },
  {
    type: 'outage',
    prefixes: ['All sentinels are unreachable'],
    hint: () =>
      'no Sentinel answered, or none knows the master: check REDIS_SENTINELS, REDIS_SENTINEL_NAME and the sentinel credentials',
  },
  {
    type: 'outage',
    prefixes: ['Failed to refresh slots cache', 'None of startup nodes is available'],
    hint: () =>
      'no Cluster node answered CLUSTER SLOTS: check REDIS_CLUSTER_NODES, the credentials, and that the nodes run in cluster mode',
  },
];

/**
 * Explains a connection error: the first rule that matches the error or its `cause` /
 * `lastNodeError` chain. `undefined` when nothing is known about it.
 */
export function explainConnectionError(
  error: unknown,
  address: string,
  tls: boolean,
): ConnectionHint | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const e = current as {
      code?: unknown;
      message?: unknown;
      lastNodeError?: unknown;
      cause?: unknown;
    };
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    for (const rule of RULES) {
      if (
        (code !== undefined && rule.codes?.includes(code)) ||
        rule.prefixes?.some((p) => message.startsWith(p)) ||
        rule.includes?.some((w) => message.includes(w))
      ) {
        return { type: rule.type, what: describeError(error), hint: rule.hint(address, tls) };
      }
    }
    current = e.lastNodeError ?? e.cause;
  }
  return undefined;
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
