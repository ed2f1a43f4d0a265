import { Buffer } from 'node:buffer';

// The shapes a value takes inside the store. Strings stay bare strings (the fast path: no wrapper,
// no allocation); bytes are Buffers; hashes and lists are small immutable-by-replacement holders
// (replaced on every write, so lru-cache re-reads their size); a value stored with metadata is a
// MetaEntry around one of those.

/** A hash value; replaced (not mutated in place) on every write so lru-cache re-reads its size. */
export class HashEntry {
  constructor(
    readonly map: Map<string, string>,
    readonly bytes: number,
  ) {}
}

/** A list value; same replacement rule as {@link HashEntry}. */
export class ListEntry {
  constructor(
    readonly items: string[],
    readonly bytes: number,
  ) {}
}

/**
 * An entry with its metadata and the time it was stored, as {@link MetaEntry} and the views of
 * plain entries show it.
 */
export interface LocalEntry {
  /** `'string'` (text or bytes), `'hash'` or `'list'`, as Redis' `TYPE` names it. */
  readonly type: 'string' | 'hash' | 'list';
  /**
   * The value as held: a string, a `Buffer` (bytes stored with `setBuffer`), a map of a hash's
   * fields, or a list's items. Read it, do not change it.
   */
  readonly value: string | Buffer | ReadonlyMap<string, string> | readonly string[];
  /** What was passed as `meta` when it was stored, `undefined` for none. */
  readonly meta: unknown;
  /** `performance.now()` when it was stored with `meta`; `NaN` for an entry stored without. */
  readonly storedAt: number;
}

/** What a bare entry is: the value itself, or a hash / list holder. */
export type Plain = string | Buffer | HashEntry | ListEntry;

/** A value stored with metadata (a string, bytes or a hash). */
export class MetaEntry implements LocalEntry {
  readonly type: 'string' | 'hash';
  readonly value: string | Buffer | ReadonlyMap<string, string>;
  constructor(
    /** The bare entry: what every operation other than `entry`/`peek` sees. */
    readonly inner: string | Buffer | HashEntry,
    /** Changed in place by `retag` (the value and its size never change). */
    public meta: unknown,
    public storedAt: number,
  ) {
    if (inner instanceof HashEntry) {
      this.type = 'hash';
      this.value = inner.map;
    } else {
      this.type = 'string';
      this.value = inner;
    }
  }
}

/** Every shape an entry of the store takes. */
export type Entry = Plain | MetaEntry;

/** The bare entry of `entry` (the value under its metadata, if any). */
export function unwrap(entry: Entry): Plain {
  return entry instanceof MetaEntry ? entry.inner : entry;
}

/** UTF-8 bytes of a string. */
export const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Bytes a bare entry holds (without its key). */
export function sizeOfPlain(entry: Plain): number {
  if (typeof entry === 'string') return byteLength(entry);
  if (Buffer.isBuffer(entry)) return entry.length;
  return entry.bytes;
}

/** A {@link LocalEntry} view of a bare entry (allocates: entries without metadata only). */
export function plainView(entry: Plain): LocalEntry {
  if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
    return { type: 'string', value: entry, meta: undefined, storedAt: Number.NaN };
  }
  if (entry instanceof HashEntry) {
    return { type: 'hash', value: entry.map, meta: undefined, storedAt: Number.NaN };
  }
  return { type: 'list', value: entry.items, meta: undefined, storedAt: Number.NaN };
}
