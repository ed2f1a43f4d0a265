import { isWellFormedId } from './_internal/ids.js';
import { InvalidSessionIdError, SessionDataError } from './errors.js';

// A session record is a Redis hash: `m:u` (owner), `m:c` (created, epoch ms of the server clock),
// `m:a` (absolute limit, 0 = none), and one `d:<key>` field per top-level data key holding that
// value's JSON, so that `update` patches keys atomically without rewriting the rest. Its key and
// its user's index key are in `_internal/keys.ts`; the scripts that change both in
// `_internal/scripts.ts`.

/** Session data: a plain object whose top-level values are JSON-serializable. */
export type SessionData = Record<string, unknown>;

/** A session as read from the store. */
export interface Session<T extends SessionData = SessionData> {
  readonly id: string;
  readonly userId: string;
  readonly data: T;
  /** Creation time (epoch ms, Redis server clock). */
  readonly createdAt: number;
  /** When the session expires unless touched (epoch ms). */
  readonly expiresAt: number;
  /** The absolute limit (epoch ms), or `null` without `absoluteTtlMs`. */
  readonly absoluteExpiresAt: number | null;
}

/** What the READ script answers: the hash as `[field, value, ...]`, its PTTL, the server time. */
export type ReadReply = [fields: string[], pttl: number, now: number];

/**
 * The `d:<key>`, JSON pairs of `data` (keys whose value is `undefined` are left out).
 * @throws SessionDataError when `data` is not a plain object or a value is not JSON-serializable.
 */
export function encodeData(data: unknown, patch: boolean): string[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SessionDataError(`session ${patch ? 'patch' : 'data'} must be a plain object`);
  }
  const out: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new SessionDataError(`session data "${key}" is not JSON-serializable`, error);
    }
    if (json === undefined)
      throw new SessionDataError(`session data "${key}" is not JSON-serializable`);
    out.push(`d:${key}`, json);
  }
  return out;
}

/** The session in a READ reply, or `null` when the record has no owner (not one of ours). */
export function decodeRecord<T extends SessionData>(
  id: string,
  [fields, pttl, now]: ReadReply,
): Session<T> | null {
  let userId: string | undefined;
  let createdAt = 0;
  let absolute = 0;
  const data: SessionData = {};
  for (let i = 0; i < fields.length; i += 2) {
    const field = fields[i] as string;
    const value = fields[i + 1] as string;
    if (field.startsWith('d:')) {
      try {
        data[field.slice(2)] = JSON.parse(value);
      } catch {
        // Only this store writes these fields; a foreign write is ignored, not fatal.
      }
    } else if (field === 'm:u') userId = value;
    else if (field === 'm:c') createdAt = Number(value);
    else if (field === 'm:a') absolute = Number(value);
  }
  if (userId === undefined) return null;
  // PTTL counts from the script's start time and `now` is read later in it (TIME): the sum can
  // be 1 ms past the absolute limit the expiry was capped at.
  let expiresAt = pttl > 0 ? now + pttl : now;
  if (absolute > 0 && expiresAt > absolute) expiresAt = absolute;
  return {
    id,
    userId,
    data: data as T,
    createdAt,
    expiresAt,
    absoluteExpiresAt: absolute > 0 ? absolute : null,
  };
}

/** @throws InvalidSessionIdError unless `id` has the shape of an id this store issues. */
export function checkId(id: unknown): asserts id is string {
  if (!isWellFormedId(id)) throw new InvalidSessionIdError(id);
}

/** @throws SessionDataError unless `userId` is a non-empty string of at most 512 characters. */
export function checkUser(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 512) {
    throw new SessionDataError('userId must be a non-empty string of at most 512 characters');
  }
}
