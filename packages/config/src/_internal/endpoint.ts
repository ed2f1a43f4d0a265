import { describeValue } from '../duration.js';
import { checkRedisUrl } from '../redis-url.js';
import { redactUrl } from './redact.js';

/**
 * One entry of a list variable (`REDIS_CLUSTER_NODES`, `REDIS_SENTINELS`,
 * `REDIS_READ_REPLICA_URLS`), parsed. `scheme` is `undefined` for a bare `host:port`, which says
 * nothing about credentials or TLS.
 */
export interface EndpointEntry {
  readonly host: string;
  readonly port: number;
  readonly scheme: 'redis' | 'rediss' | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number | undefined;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const HOST_PORT = /^(?:\[([^\]\s]+)\]|([^:\s/@[\]]+))(?::(\d{1,5}))?$/;

/** The accepted forms, for messages. */
export const ENDPOINT_FORMS = 'host:port, [ipv6]:port or a redis:// / rediss:// URL';

/**
 * Parses `host`, `host:port`, `[ipv6]:port`, `redis://[user[:password]@]host[:port][/db]` or
 * `rediss://...`. Returns the problem as a string (never containing the password).
 */
export function checkEndpoint(text: string, defaultPort: number): EndpointEntry | string {
  const item = text.trim();
  if (SCHEME.test(item)) {
    const parsed = checkRedisUrl(item, defaultPort);
    if (typeof parsed === 'string') return parsed;
    return {
      host: parsed.host,
      port: parsed.port,
      scheme: parsed.tls ? 'rediss' : 'redis',
      username: parsed.username,
      password: parsed.password,
      db: parsed.db,
    };
  }
  const match = HOST_PORT.exec(item);
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!match || port < 1 || port > 65535) {
    return `must be ${ENDPOINT_FORMS} with a port 1..65535, got ${describeValue(redactUrl(item))}`;
  }
  return {
    host: (match[1] ?? match[2])!,
    port,
    scheme: undefined,
    username: undefined,
    password: undefined,
    db: undefined,
  };
}

/** Splits a comma-separated list; empty parts are dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
