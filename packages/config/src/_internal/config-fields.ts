import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Jitter } from '@x/reconnect';
import {
  CONFIG_DEFAULTS,
  type RedisEndpoint,
  type RedisReconnectConfig,
  type RedisTlsConfig,
} from '../config.js';
import { describeValue, parseDuration } from '../duration.js';
import {
  checkEndpoint,
  ENDPOINT_FORMS,
  type EndpointEntry,
  formatHostPort,
  splitList,
} from './endpoint.js';

// Reading and checking the fields of a config input: every reader returns `undefined` for an
// absent or invalid value and records the issue, so that validation reports every problem at once.

export const TLS_KEYS = new Set([
  'enabled',
  'caFile',
  'certFile',
  'keyFile',
  'skipVerify',
  'servername',
]);
export const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];
export const TRUE = new Set(['true', '1', 'yes', 'on']);
export const FALSE = new Set(['false', '0', 'no', 'off']);

export function readTls(
  v: Reader,
  value: unknown,
  fromUrl: boolean,
  add: (path: string, message: string) => void,
): RedisTlsConfig | undefined {
  let enabled: boolean | undefined;
  let settings: Record<string, unknown> = {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    settings = value as Record<string, unknown>;
    for (const key of Object.keys(settings)) {
      if (!TLS_KEYS.has(key) && settings[key] !== undefined)
        add(`tls.${key}`, unknownOption(key, TLS_KEYS));
    }
    // The object form (also a validated RedisTlsConfig) means TLS unless it says `enabled: false`.
    enabled = settings.enabled === undefined ? true : v.bool('tls.enabled', settings.enabled);
  } else if (value !== undefined) {
    enabled = v.bool('tls', value);
  }
  const caFile = v.file('tls.caFile', settings.caFile);
  const certFile = v.file('tls.certFile', settings.certFile);
  const keyFile = v.file('tls.keyFile', settings.keyFile);
  const skipVerify = v.bool('tls.skipVerify', settings.skipVerify) ?? false;
  const servername = v.string('tls.servername', settings.servername);
  if (isEmpty(settings.certFile) !== isEmpty(settings.keyFile)) {
    add(
      isEmpty(settings.certFile) ? 'tls.certFile' : 'tls.keyFile',
      'certFile and keyFile go together (mutual TLS): give both, or neither',
    );
  }
  const on = enabled ?? (fromUrl || caFile !== undefined || certFile !== undefined || skipVerify);
  if (!on) return undefined;
  return Object.freeze({ caFile, certFile, keyFile, skipVerify, servername });
}

export function readReconnect(
  v: Reader,
  value: unknown,
  add: (path: string, message: string) => void,
): RedisReconnectConfig {
  const d = CONFIG_DEFAULTS.reconnect;
  if (value === undefined) return d;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    add(
      'reconnect',
      `must be an object { jitter, minDelayMs, maxDelayMs }, got ${describeValue(value)}`,
    );
    return d;
  }
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['jitter', 'minDelayMs', 'maxDelayMs'].includes(key) && r[key] !== undefined)
      add(`reconnect.${key}`, 'unknown option');
  }
  let jitter = d.jitter;
  if (r.jitter !== undefined) {
    if (JITTERS.includes(r.jitter as Jitter)) jitter = r.jitter as Jitter;
    else
      add(
        'reconnect.jitter',
        `must be one of ${JITTERS.join(', ')}, got ${describeValue(r.jitter)}`,
      );
  }
  const minDelayMs = v.duration('reconnect.minDelayMs', r.minDelayMs, false) ?? d.minDelayMs;
  const maxDelayMs =
    v.duration('reconnect.maxDelayMs', r.maxDelayMs, false) ?? Math.max(d.maxDelayMs, minDelayMs);
  if (maxDelayMs < minDelayMs) {
    add(
      'reconnect.maxDelayMs',
      `must be >= reconnect.minDelayMs (${minDelayMs}), got ${maxDelayMs}`,
    );
  }
  return Object.freeze({ jitter, minDelayMs, maxDelayMs });
}

/** A parsed list entry and its field path (`clusterNodes[1]`). */
export interface IndexedEntry {
  readonly path: string;
  readonly entry: EndpointEntry;
}

export interface EntryScheme {
  readonly path: string;
  readonly scheme: 'redis' | 'rediss';
}

export function toEndpoint({ entry }: IndexedEntry): RedisEndpoint {
  return Object.freeze({ host: entry.host, port: entry.port });
}

/**
 * The user and password of a list of URLs: the first URL with credentials gives them, every other
 * URL with credentials must say the same, and so must the explicit fields when both are given.
 */
export function mergeCredentials(
  entries: readonly IndexedEntry[],
  given: { username: string | undefined; password: string | undefined },
  fields: { username: string; password: string },
  rule: string,
  add: (path: string, message: string) => void,
): { username: string | undefined; password: string | undefined } {
  let first: IndexedEntry | undefined;
  for (const item of entries) {
    const { username, password } = item.entry;
    if (username === undefined && password === undefined) continue;
    if (first === undefined) {
      first = item;
    } else if (username !== first.entry.username || password !== first.entry.password) {
      add(item.path, `user or password differs from ${first.path}: ${rule}`);
    }
  }
  if (first === undefined) return given;
  const { username, password } = first.entry;
  if (given.password !== undefined && password !== undefined && given.password !== password) {
    add(
      first.path,
      `the password in this URL differs from ${fields.password}: give it once (in ${fields.password} or in the URLs)`,
    );
  }
  if (given.username !== undefined && username !== undefined && given.username !== username) {
    add(
      first.path,
      `the user ${describeValue(username)} in this URL differs from ${fields.username} ${describeValue(given.username)}: give it once`,
    );
  }
  return { username: given.username ?? username, password: given.password ?? password };
}

/** The scheme of the first URL in a list (bare `host:port` entries say nothing); all must agree. */
export function firstScheme(
  entries: readonly IndexedEntry[],
  what: string,
  add: (path: string, message: string) => void,
): EntryScheme | undefined {
  let first: EntryScheme | undefined;
  for (const { path, entry } of entries) {
    if (entry.scheme === undefined) continue;
    if (first === undefined) first = { path, scheme: entry.scheme };
    else if (entry.scheme !== first.scheme) {
      add(
        path,
        `${entry.scheme}:// differs from ${first.scheme}:// in ${first.path}: ${what} uses TLS, or none does`,
      );
    }
  }
  return first;
}

/** "unknown option", with the closest known name when it looks like a typo. */
export function unknownOption(key: string, known: ReadonlySet<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = distance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best === undefined
    ? 'unknown option (not a field of RedisConfigInput): remove it'
    : `unknown option: did you mean ${best}?`;
}

/** Levenshtein distance (short strings only). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

export function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** Field readers: each returns `undefined` for an absent or invalid value (and records the issue). */
export class Reader {
  readonly #add: (path: string, message: string) => void;

  constructor(add: (path: string, message: string) => void) {
    this.#add = add;
  }

  string(path: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.#add(path, `must be a string, got ${describeValue(value)}`);
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  /** Like `string` but never echoes the value. */
  secret(path: string, value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.#add(path, `must be a string, got a ${typeof value}`);
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  int(path: string, value: unknown, min: number, max: number): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
      this.#add(path, `must be an integer ${range}, got ${describeValue(value)}`);
      return undefined;
    }
    return n;
  }

  bool(path: string, value: unknown): boolean | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const s = value.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
    }
    this.#add(
      path,
      `must be a boolean (true/false/1/0/yes/no/on/off), got ${describeValue(value)}`,
    );
    return undefined;
  }

  duration(path: string, value: unknown, positive: boolean): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    let ms: number;
    try {
      ms = parseDuration(value as number | string);
    } catch {
      this.#add(
        path,
        `must be a duration (ms, or e.g. '500ms', '5s', '10m', '24h'), got ${describeValue(value)}`,
      );
      return undefined;
    }
    if (ms < 0 || (positive && ms === 0)) {
      this.#add(
        path,
        `must be ${positive ? 'a positive' : 'a non-negative'} duration, got ${describeValue(value)}`,
      );
      return undefined;
    }
    return ms;
  }

  file(path: string, value: unknown): string | undefined {
    const file = this.string(path, value);
    if (file === undefined) return undefined;
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) {
      this.#add(
        path,
        `file not found: ${JSON.stringify(file)}${isAbsolute(file) ? '' : ` (relative to the working directory ${process.cwd()})`}`,
      );
      return undefined;
    }
    return file;
  }

  /**
   * A list of endpoints: `'a:1,b:2'`, or an array of strings / `{ host, port }` objects. Strings
   * may be `host:port`, `[ipv6]:port` or `redis://` / `rediss://` URLs (with credentials).
   */
  endpoints(path: string, value: unknown, defaultPort: number): IndexedEntry[] {
    if (value === undefined || value === null || value === '') return [];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.#add(
        path,
        `must be a comma-separated list (${ENDPOINT_FORMS}) or an array, got ${describeValue(value)}`,
      );
      return [];
    }
    const items: unknown[] =
      typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
    const out: IndexedEntry[] = [];
    items.forEach((item, i) => {
      const at = `${path}[${i}]`;
      if (typeof item === 'object' && item !== null) {
        const { host, port } = item as Partial<RedisEndpoint>;
        const p = this.int(`${at}.port`, port ?? defaultPort, 1, 65535);
        if (typeof host !== 'string' || host === '')
          this.#add(`${at}.host`, `must be a host name, got ${describeValue(host)}`);
        else if (p !== undefined)
          out.push({
            path: at,
            entry: {
              host,
              port: p,
              scheme: undefined,
              username: undefined,
              password: undefined,
              db: undefined,
            },
          });
        return;
      }
      if (typeof item !== 'string' || item === '') {
        this.#add(at, `must be ${ENDPOINT_FORMS}, got ${describeValue(item)}`);
        return;
      }
      const entry = checkEndpoint(item, defaultPort);
      if (typeof entry === 'string') this.#add(at, entry);
      else out.push({ path: at, entry });
    });
    return out;
  }

  /**
   * Replica addresses: a comma-separated string or an array of `redis://` / `rediss://` URLs or
   * `host:port` (turned into `redis://host:port`, which takes credentials and TLS from the config).
   */
  urls(path: string, value: unknown): string[] {
    if (value === undefined || value === null || value === '') return [];
    if (typeof value !== 'string' && !Array.isArray(value)) {
      this.#add(
        path,
        `must be a comma-separated list (${ENDPOINT_FORMS}) or an array, got ${describeValue(value)}`,
      );
      return [];
    }
    const items: unknown[] = typeof value === 'string' ? splitList(value) : value;
    const out: string[] = [];
    items.forEach((item, i) => {
      const at = `${path}[${i}]`;
      if (typeof item !== 'string' || item.trim() === '') {
        this.#add(at, `must be ${ENDPOINT_FORMS}, got ${describeValue(item)}`);
        return;
      }
      const entry = checkEndpoint(item, 6379);
      if (typeof entry === 'string') this.#add(at, entry);
      else if (entry.scheme === undefined)
        out.push(`redis://${formatHostPort(entry.host, entry.port)}`);
      else out.push(item.trim());
    });
    return out;
  }
}
