import { fileURLToPath } from 'node:url';
import { readmeBlocks, readmeExample, startRedis, typecheckBlocks } from '@x/testkit';
import { describe, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const example = readmeExample(packageDir);

describe.concurrent('README quick start', () => {
  it('pings through retry() and reports the connection', async ({ expect }) => {
    const redis = await startRedis();
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toEqual(['redis ready after 0 retries', 'PONG']);
    expect(result.stderr).toBe('');
  });

  it('with Redis down: finishes quickly and says why', async ({ expect }) => {
    const redis = await startRedis();
    await redis.stop();
    const t0 = performance.now();
    // Killed after 15 s (exitCode null): with ioredis' defaults the example took about 19 s.
    const result = await example.run({ REDIS_URL: redis.url });
    const took = performance.now() - t0;
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `redis unreachable after 3 attempts: connect ECONNREFUSED 127.0.0.1:${redis.port}\n`,
    );
    // The example itself needs about a second; the rest is starting Node and tsx.
    expect(took).toBeLessThan(8_000);
  });

  it('every ts block type-checks for a user on module nodenext + strict', async ({ expect }) => {
    const blocks = readmeBlocks(packageDir);
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    expect(blocks[0]!.code).toContain("import { Redis } from 'ioredis';");
    expect((await typecheckBlocks(packageDir, blocks)).output).toBe('');
  }, 60_000);
});
