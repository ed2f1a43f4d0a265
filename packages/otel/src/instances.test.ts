import { announceInstance } from '@x/connection';
import { describe, expect, it } from 'vitest';
import { Instances, type Observed } from './instances.js';

describe('Instances', () => {
  it('sees the instances opened before it started, and follows closes', () => {
    const early = { stats: () => ({ n: 1 }) };
    announceInstance('@x/test', 'open', early, 'early');
    const closed: Observed[] = [];
    const instances = new Instances((o) => closed.push(o));
    try {
      expect([...instances.values()].map((o) => o.instance)).toContain(early);
      const late = { stats: () => ({ n: 2 }) };
      announceInstance('@x/test', 'open', late);
      expect([...instances.values()].map((o) => o.instance)).toContain(late);
      announceInstance('@x/test', 'close', early);
      announceInstance('@x/test', 'close', late);
      expect([...instances.values()].map((o) => o.instance)).not.toContain(early);
      expect(closed.map((o) => o.instance)).toEqual([early, late]);
    } finally {
      instances.close();
    }
  });
});
