import { describe, expect, it } from 'vitest';
import { Journal, KEEP_EXPIRY } from './journal.js';

describe('Journal', () => {
  it('latest wins: a rewritten key moves to the end and keeps one entry', () => {
    const j = new Journal(10);
    j.record('a', 0, false, 0);
    j.record('b', 0, false, 0);
    j.record('a', 0, false, 0);
    expect(j.drain(0).entries.map(([k]) => k)).toEqual(['b', 'a']);
    expect(j.size).toBe(0);
  });

  it('is bounded: the oldest entries are dropped and the overflow is reported', () => {
    const j = new Journal(2);
    for (const k of ['a', 'b', 'c', 'd']) j.record(k, 0, false, 0);
    expect(j.size).toBe(2);
    const batch = j.drain(0);
    expect(batch.entries.map(([k]) => k)).toEqual(['c', 'd']);
    expect(batch).toMatchObject({ overflowed: true, dropped: 2 });
    expect(j.overflowed).toBe(false);
  });

  it('drops expired entries, first when room is needed, and on drain', () => {
    const j = new Journal(2);
    j.record('short', 100, false, 0);
    j.record('forever', 0, false, 0);
    j.record('new', 0, false, 2_000); // 'short' expired at 100: pruned, no overflow
    expect(j.overflowed).toBe(false);
    j.record('ttl', 2_500, false, 2_000);
    const batch = j.drain(3_000);
    expect(batch.entries.map(([k]) => k)).toEqual(['new']);
    expect(batch.overflowed).toBe(true);
  });

  it('uncertain entries (timed-out Redis writes) are sticky and never dropped as expired', () => {
    const j = new Journal(5);
    j.record('k', 10, true, 0);
    j.record('k', 20, false, 0);
    const [entry] = j.drain(1_000).entries;
    expect(entry).toEqual(['k', { expiresAt: 20, uncertain: true }]);
  });

  it('KEEP_EXPIRY keeps the previous expiry', () => {
    const j = new Journal(5);
    j.record('k', 500, false, 0);
    j.record('k', KEEP_EXPIRY, false, 0);
    j.record('n', KEEP_EXPIRY, false, 0);
    expect(j.drain(0).entries).toEqual([
      ['k', { expiresAt: 500, uncertain: false }],
      ['n', { expiresAt: 0, uncertain: false }],
    ]);
  });

  it('restore puts a failed batch back; newer entries win and keep their place', () => {
    const j = new Journal(10);
    j.record('a', 0, false, 0);
    j.record('b', 0, false, 0);
    const batch = j.drain(0);
    j.record('b', 0, true, 0);
    j.record('c', 0, false, 0);
    j.restore(batch, 0);
    expect(j.drain(0).entries).toEqual([
      ['a', { expiresAt: 0, uncertain: false }],
      ['b', { expiresAt: 0, uncertain: true }],
      ['c', { expiresAt: 0, uncertain: false }],
    ]);
  });
});
