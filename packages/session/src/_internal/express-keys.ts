import { expressKey, expressTombstoneKey } from './keys.js';

/**
 * Keys of the express-session store. express-session and @fastify/session let the application
 * choose the session id (`genid` / `idGenerator`), so an id can be any string: `'apple'`, `'%'`,
 * `'/foo'`, text with `{`, `}`, `*`, spaces or non-ASCII characters. Each id is stored under
 * `<prefix>x:{<encoded id>}`, where the encoding is:
 *
 * - **safe**: the encoded id uses only `A-Z a-z 0-9 _ . - %`, so it never closes the Cluster hash
 *   tag early, never opens a second one, and never contains a glob character (`* ? [ ] \`) that
 *   would confuse the SCAN pattern of `all / ids / length / clear`;
 * - **injective**: two different ids never share a key (every `%` of an id is itself encoded);
 * - **the identity on `[A-Za-z0-9_.-]`**: every id the previous version of this store accepted
 *   (`/^[A-Za-z0-9_.-]{16,256}$/`: express-session's and @fastify/session's default ids) keeps
 *   the key it was written under, so existing records stay readable;
 * - **bounded**: at most 6 characters per UTF-16 code unit of the id.
 *
 * Every other code unit becomes `%XX` (below 0x80, two upper-case hex digits) or `%uXXXX` (from
 * 0x80, including a lone surrogate, so any JavaScript string has an encoding). The empty id is
 * encoded as a lone `%`, which no other id produces, so its key still has a non-empty hash tag.
 */

const SAFE = /^[A-Za-z0-9_.-]*$/;
const ENCODED = /^(?:[A-Za-z0-9_.-]|%[0-9A-F]{2}|%u[0-9A-F]{4})+$/;

/** Encodes a session id for a key (see the module comment). */
export function encodeSid(sid: string): string {
  if (sid.length === 0) return '%';
  if (SAFE.test(sid)) return sid;
  let out = '';
  for (let i = 0; i < sid.length; i++) {
    const unit = sid.charCodeAt(i);
    const char = sid[i] as string;
    if (isSafe(unit)) out += char;
    else if (unit < 0x80) out += `%${hex(unit, 2)}`;
    else out += `%u${hex(unit, 4)}`;
  }
  return out;
}

/** The id an {@link encodeSid} output came from, or `null` for text it could not have produced. */
export function decodeSid(encoded: string): string | null {
  if (encoded === '%') return '';
  if (!ENCODED.test(encoded)) return null;
  if (!encoded.includes('%')) return encoded;
  let out = '';
  for (let i = 0; i < encoded.length; ) {
    const char = encoded[i] as string;
    if (char !== '%') {
      out += char;
      i += 1;
    } else if (encoded[i + 1] === 'u') {
      const unit = Number.parseInt(encoded.slice(i + 2, i + 6), 16);
      // Not canonical (an ASCII unit written long, e.g. %u0041): another text encodes to it.
      if (unit < 0x80) return null;
      out += String.fromCharCode(unit);
      i += 6;
    } else {
      const unit = Number.parseInt(encoded.slice(i + 1, i + 3), 16);
      if (unit >= 0x80 || isSafe(unit)) return null;
      out += String.fromCharCode(unit);
      i += 3;
    }
  }
  return out;
}

/** `<prefix>x:{<encoded sid>}`: the record of a session (a JSON string). */
export function sidKey(prefix: string, sid: string): string {
  return expressKey(prefix, encodeSid(sid));
}

/** The tombstone of a record key: while it exists, `set` of that sid is refused. */
export function sidTombstoneKey(key: string): string {
  return expressTombstoneKey(key);
}

/** The sid of a record key read back from SCAN, or `null` for a key this store did not write. */
export function sidOfKey(prefix: string, key: string): string | null {
  const head = `${prefix}x:{`;
  if (!key.startsWith(head) || !key.endsWith('}')) return null;
  return decodeSid(key.slice(head.length, -1));
}

/** The SCAN pattern of every record of this prefix (tombstones, `...}:gone`, do not match). */
export function sidScanPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}x:{*}`;
}

function isSafe(unit: number): boolean {
  return (
    (unit >= 0x30 && unit <= 0x39) || // 0-9
    (unit >= 0x41 && unit <= 0x5a) || // A-Z
    (unit >= 0x61 && unit <= 0x7a) || // a-z
    unit === 0x5f || // _
    unit === 0x2e || // .
    unit === 0x2d // -
  );
}

function hex(unit: number, digits: number): string {
  return unit.toString(16).toUpperCase().padStart(digits, '0');
}
