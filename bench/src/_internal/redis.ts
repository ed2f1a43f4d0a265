import { type RedisHandle, startRedis } from '@x/testkit';

/**
 * A fresh `redis-server` for one case: a separate process on a free loopback port, no
 * persistence. The client side is this Node process.
 */
export function benchRedis(): Promise<RedisHandle> {
  return startRedis({ args: ['--maxmemory', '512mb', '--maxmemory-policy', 'allkeys-lru'] });
}

/** Key names used by the load generators: `prefix:0` .. `prefix:(n-1)`. */
export function keys(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}:${i}`);
}

/**
 * Time Redis itself spent per script call (EVAL / EVALSHA), in µs, from `INFO commandstats`
 * since the last `CONFIG RESETSTAT`: what one decision costs the server, whatever the load on
 * the client side.
 */
export async function scriptCostUs(admin: {
  info(section: string): Promise<string>;
}): Promise<number> {
  const { calls, usec } = await commandStats(admin, /^(?:evalsha|eval)$/);
  return calls === 0 ? Number.NaN : usec / calls;
}

/**
 * Calls and µs Redis spent on the commands whose name matches `only` (default: every command)
 * since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
 */
export async function commandStats(
  admin: { info(section: string): Promise<string> },
  only: RegExp = /./,
): Promise<{ calls: number; usec: number }> {
  const text = await admin.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const m of text.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info' || m[1] === 'config' || !only.test(m[1]!)) continue;
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  return { calls, usec };
}
