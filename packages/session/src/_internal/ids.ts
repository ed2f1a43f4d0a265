import { createHash, randomBytes } from 'node:crypto';

/**
 * Session ids are `<random>.<tag>`: `<random>` is base64url of `bytes` bytes from the CSPRNG
 * (24 bytes = 192 bits by default, never fewer than 16 = 128 bits), `<tag>` is 4 hex digits of
 * SHA-256(userId). The tag is the Redis Cluster hash tag shared by every key of that user, so one
 * script can change a record and the user's index atomically; 16 bits say next to nothing about
 * the user (65 536 buckets).
 */
const ID = /^[A-Za-z0-9_-]{22,172}\.[0-9a-f]{4}$/;

export function userTag(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 4);
}

export function newId(bytes: number, tag: string): string {
  return `${randomBytes(bytes).toString('base64url')}.${tag}`;
}

export function isWellFormedId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}

/** The tag of a well-formed id. */
export function tagOf(id: string): string {
  return id.slice(id.length - 4);
}
