/**
 * Key and record layout, shared by the store, the express-session store and the reconciliation
 * after an outage. Every key of one user carries the user's hash tag (see ids.ts), so one script can change
 * a record and its index on Redis Cluster.
 */

/** `<prefix>{<tag>}:s:<id>`: a session record (a hash). */
export function recordKey(prefix: string, tag: string, id: string): string {
  return `${prefix}{${tag}}:s:${id}`;
}

/** `<prefix>{<tag>}:u:<userId>`: a user's index (a sorted set of ids scored by expiry). */
export function indexKey(prefix: string, tag: string, userId: string): string {
  return `${prefix}{${tag}}:u:${userId}`;
}

/** The session id in a key built by {@link recordKey}: after `<prefix>{xxxx}:s:`. */
export function idOfRecordKey(prefix: string, key: string): string {
  return key.slice(prefix.length + 9);
}

/** `<prefix>x:{<sid>}`: an express-session record (a JSON string). */
export function expressKey(prefix: string, sid: string): string {
  return `${prefix}x:{${sid}}`;
}

/** The tombstone of an express-session record: refuses writes of a destroyed sid for a while. */
export function expressTombstoneKey(key: string): string {
  return `${key}:gone`;
}

/**
 * The owner (`m:u`) in a session record read as a flat `[field, value, ...]` list (HGETALL), or
 * `null` when the record has none.
 */
export function ownerOf(fields: readonly string[]): string | null {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'm:u') return fields[i + 1] ?? null;
  return null;
}
