import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('runs on Redis as written', async ({ expect }) => {
    const redis = await startRedis();
    expect(example.code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const [name, backend, ttl] = result.stdout.trim().split(' ');
    expect(name).toBe('Ada');
    expect(backend).toBe('primary');
    expect(Number(ttl)).toBeGreaterThan(59_000);
  });

  it('runs with Redis down, from memory', async ({ expect }) => {
    const redis = await startRedis();
    await redis.kill();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split(' ').slice(0, 2)).toEqual(['Ada', 'fallback']);
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
