import { fileURLToPath } from 'node:url';
import { readmeBlocks, readmeExample, startRedis, typecheckBlocks } from '@x/testkit';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const example = readmeExample(packageDir);

describe.concurrent('README quick start', () => {
  it('reads through the guard while Redis is up', async ({ expect }) => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    try {
      await client.set('greeting', 'hello');
    } finally {
      client.disconnect();
    }
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('greeting: hello | circuit: closed\n');
    expect(result.stderr).toBe('');
  });

  it('falls back to the default while Redis is down, and says so', async ({ expect }) => {
    const redis = await startRedis();
    await redis.stop();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('greeting: null | circuit: closed\n');
    expect(result.stderr).toBe('redis unavailable (connection): serving the default\n');
  });

  it('every ts block type-checks for a user on module nodenext + strict', async ({ expect }) => {
    const blocks = readmeBlocks(packageDir);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks[0]!.code).toContain("import { Redis } from 'ioredis';");
    expect((await typecheckBlocks(packageDir, blocks)).output).toBe('');
  }, 60_000);
});
