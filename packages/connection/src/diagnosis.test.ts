import { describe, expect, it } from 'vitest';
import { describeProblem, diagnose, noAnswer, toProblem } from './diagnosis.js';

const err = (message: string): Error => new Error(message);

describe('problems', () => {
  it('dates a problem once and keeps the date while it repeats', () => {
    const found = diagnose(err('NOAUTH Authentication required.'))!;
    const first = toProblem(found, undefined, 1_000);
    expect(first.since).toBe(1_000);
    expect(toProblem(found, first, 2_000)).toBe(first);
    const other = toProblem(diagnose(err('WRONGPASS invalid'))!, first, 3_000);
    expect(other.since).toBe(3_000);
    expect(describeProblem(other)).toMatch(/^auth: WRONGPASS invalid \(/);
  });

  it('says "no answer within N ms" when nothing said more', () => {
    expect(noAnswer(250, { address: '10.0.0.5:6379' })).toMatchObject({
      kind: 'timeout',
      message: 'no answer within 250 ms',
      hint: expect.stringMatching(/10\.0\.0\.5:6379 does not answer within 250 ms/),
      misconfiguration: false,
    });
  });
});
