import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('runs as written and prints the fencing token', async ({ expect }) => {
    const redis = await startRedis();
    expect(example.code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/fencingToken: \d+/);
    expect(result.stdout).toContain('ok: true');
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
