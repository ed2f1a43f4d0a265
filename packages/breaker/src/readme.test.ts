import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

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
    expect(result.stdout).toBe('hello closed\n');
  });

  it('falls back to null while Redis is down', async ({ expect }) => {
    const redis = await startRedis();
    await redis.stop();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('null closed\n');
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
