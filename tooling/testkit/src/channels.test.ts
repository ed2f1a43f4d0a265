import diagnostics_channel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { listenChannels } from './channels';

describe('listenChannels', () => {
  it('collects each channel apart, in order, until closed; a using block closes it', () => {
    const a = diagnostics_channel.channel('x:testkit:a');
    const b = diagnostics_channel.channel('x:testkit:b');
    const channels = listenChannels(['x:testkit:a', 'x:testkit:b']);
    expect(a.hasSubscribers && b.hasSubscribers).toBe(true);
    a.publish({ n: 1 });
    b.publish({ n: 2 });
    a.publish({ n: 3 });
    const seen = channels.of<{ n: number }>('x:testkit:a');
    expect(seen).toEqual([{ n: 1 }, { n: 3 }]);
    expect(channels.of('x:testkit:b')).toEqual([{ n: 2 }]);
    expect(() => channels.of('x:testkit:c')).toThrow(/not listening to "x:testkit:c"/);
    channels.close();
    channels.close();
    a.publish({ n: 4 });
    expect(seen).toEqual([{ n: 1 }, { n: 3 }]);
    expect(a.hasSubscribers || b.hasSubscribers).toBe(false);
    {
      using scoped = listenChannels(['x:testkit:a']);
      a.publish({ n: 5 });
      expect(scoped.of('x:testkit:a')).toEqual([{ n: 5 }]);
    }
    expect(a.hasSubscribers).toBe(false);
  });
});
