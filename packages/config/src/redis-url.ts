import { hideSecrets, REDACTED, redactUrl } from './_internal/redact.js';
import { describeValue } from './duration.js';
import { ConfigError } from './errors.js';

/** The parts of a `redis://` or `rediss://` URL. */
export interface ParsedRedisUrl {
  /** `true` for `rediss://`. */
  readonly tls: boolean;
  readonly host: string;
  /** @default 6379 */
  readonly port: number;
  readonly username: string | undefined;
  /** Hidden from `JSON.stringify`, `String()` and `util.inspect` of this object. */
  readonly password: string | undefined;
  /** From the path (`/2`), `undefined` when absent. */
  readonly db: number | undefined;
}

/**
 * Parses `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS). Credentials are
 * percent-decoded; IPv6 hosts are written in brackets (`redis://[::1]:6379`).
 * @throws ConfigError (`E_CONFIG`) naming the problem; the URL in the message has its password
 * replaced by `***`.
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const problem = checkRedisUrl(url);
  if (typeof problem === 'string') throw new ConfigError([{ path: 'url', message: problem }]);
  return problem;
}

/**
 * Like {@link parseRedisUrl} but returns the problem as a string instead of throwing.
 * `defaultPort` is the port of a URL without one (26379 for a Sentinel).
 */
export function checkRedisUrl(url: unknown, defaultPort = 6379): ParsedRedisUrl | string {
  if (typeof url !== 'string' || url.trim() === '') {
    return `must be a redis:// or rediss:// URL, got ${describeValue(url)}`;
  }
  const shown = JSON.stringify(redactUrl(url.trim()));
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return `invalid URL ${shown}`;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `unsupported scheme ${JSON.stringify(parsed.protocol)} in ${shown} (expected redis:// or rediss://)`;
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return `missing host in ${shown}`;
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return `port must be 1..65535 in ${shown}`;
  }
  const path = parsed.pathname.replace(/^\/+/, '');
  let db: number | undefined;
  if (path !== '') {
    if (!/^\d+$/.test(path))
      // The path is not echoed alone: it may hold the credentials when an unencoded `/` cut the
      // authority short (`redis://us/er:secret@host`); `shown` has them redacted.
      return `db must be a non-negative integer (the URL path) in ${shown}`;
    db = Number(path);
  }
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
    password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  } catch {
    return `invalid percent-encoding in the credentials of ${shown}`;
  }
  const result: ParsedRedisUrl = {
    tls: parsed.protocol === 'rediss:',
    host,
    port,
    username,
    password,
    db,
  };
  return hideSecrets(result, (r) => ({
    ...r,
    password: r.password === undefined ? undefined : REDACTED,
  }));
}
