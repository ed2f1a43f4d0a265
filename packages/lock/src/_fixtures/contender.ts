// Child process of the contention tests.
//   contend <url> <key> <rounds> <startAt>: takes the lock `rounds` times with withLock and, while
//     holding it, appends start/end records to a shared log guarded by the fencing token.
//   hold <url> <key> <ttlMs>: acquires once, prints "acquired <fencingToken>", then on a "write"
//     line from stdin tries one fenced write and prints "write <accepted 0|1>".
// The log accepts a write only if its token is not smaller than the largest one it has seen; an
// unguarded counter of current holders detects any overlap.
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createLockManager } from '../index.js';

const FENCED_APPEND = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local fence = tonumber(ARGV[1])
if fence < last then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
`;

const [mode, url, key, arg, startAt] = process.argv.slice(2);
const storage = new Redis(url!);
const append = (fence: number, entry: string): Promise<number> =>
  storage.eval(FENCED_APPEND, 2, 'log:last', 'log', String(fence), entry) as Promise<number>;

if (mode === 'contend') {
  // Generous deadlines: a loaded test machine can starve a process for a while.
  const locks = createLockManager({
    redis: url!,
    timeoutMs: 5000,
    retry: { attempts: 500, delayMs: 50, jitter: 25 },
    notify: true,
  });
  const wait = Number(startAt) - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  let overlaps = 0;
  let rejected = 0;
  const tokens: number[] = [];
  for (let i = 0; i < Number(arg); i++) {
    await locks.withLock(
      key!,
      async (lock) => {
        const entered = Date.now();
        if ((await storage.incr('holders')) !== 1) {
          overlaps++;
          process.stderr.write(
            `overlap: entered ${entered} expiresAt ${lock.expiresAt} held ${lock.held} fence ${lock.fencingToken}\n`,
          );
        }
        tokens.push(lock.fencingToken);
        if ((await append(lock.fencingToken, `${lock.fencingToken}:${process.pid}:start`)) !== 1)
          rejected++;
        await new Promise((resolve) => setTimeout(resolve, 2));
        if ((await append(lock.fencingToken, `${lock.fencingToken}:${process.pid}:end`)) !== 1)
          rejected++;
        await storage.decr('holders');
      },
      { ttlMs: 10_000 },
    );
  }
  await locks.close();
  process.stdout.write(`${JSON.stringify({ overlaps, rejected, tokens })}\n`);
} else {
  const locks = createLockManager({ redis: url! });
  const lock = await locks.acquire(key!, { ttlMs: Number(arg) });
  process.stdout.write(`acquired ${lock.fencingToken}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'write') {
      const accepted = await append(lock.fencingToken, `${lock.fencingToken}:${process.pid}:late`);
      process.stdout.write(`write ${accepted} held=${lock.held}\n`);
      break;
    }
  }
  process.stdin.destroy();
  await locks.close();
}
storage.disconnect();
