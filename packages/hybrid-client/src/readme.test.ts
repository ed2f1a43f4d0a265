import { fileURLToPath } from 'node:url';
import { readmeBlocks, readmeExample, startRedis, typecheckBlocks } from '@x/testkit';
import { describe, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const example = readmeExample(packageDir);
const nearCache = readmeExample(packageDir, 'Near cache');

describe.concurrent('README quick start', () => {
  it('runs on Redis as written', async ({ expect }) => {
    const redis = await startRedis();
    expect(example.code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const [name, backend, ttl, source] = result.stdout.trim().split(' ');
    expect(name).toBe('Ada');
    expect(backend).toBe('primary');
    expect(Number(ttl)).toBeGreaterThan(59_000);
    // The second read was served by the near cache.
    expect(source).toBe('near');
  });

  it('runs with Redis down, from memory', async ({ expect }) => {
    const redis = await startRedis();
    await redis.kill();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const words = result.stdout.trim().split(' ');
    expect(words.slice(0, 2)).toEqual(['Ada', 'fallback']);
    // Written in memory during the outage: served from there, not stale.
    expect(words[3]).toBe('memory');
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('the near cache example runs as written: a copy, then the write of another client seen', async ({
    expect,
  }) => {
    const redis = await startRedis();
    const result = await nearCache.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('near hello\nbonjour 1\n');
  });

  it('every ts block type-checks for a user on module nodenext + strict', async ({ expect }) => {
    const blocks = readmeBlocks(packageDir);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect((await typecheckBlocks(packageDir, blocks)).output).toBe('');
  }, 60_000);
});
