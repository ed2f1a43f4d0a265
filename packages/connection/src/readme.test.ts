import { fileURLToPath } from 'node:url';
import { readmeExample, startFailingRedis, startRedis } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('runs as written against a healthy server', async ({ expect }) => {
    const redis = await startRedis();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('greeting: hello');
    expect(result.stdout).toContain('state: ready problem: none');
  });

  it('says what is wrong with a wrong password, at once', async ({ expect }) => {
    const redis = await startFailingRedis('wrong-password');
    const started = performance.now();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/misconfigured \(auth\): WRONGPASS/);
    expect(result.stdout).toContain('problem: auth');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
