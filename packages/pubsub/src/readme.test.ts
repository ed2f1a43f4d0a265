import { fileURLToPath } from 'node:url';
import { readmeExample, startFailingRedis, startRedis } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('publishes and receives one message', async ({ expect }) => {
    const redis = await startRedis();
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('orders { id: 1, total: 42 }\n');
    expect(result.stderr).toBe('');
  });

  it('ends quickly with a clear message when Redis is down', async ({ expect }) => {
    const redis = await startFailingRedis('refused');
    const started = performance.now();
    // Killed after 15 s: before the deadlines, it hung here forever on `await orders.ready`.
    const result = await example.run({ REDIS_URL: redis.url }, 15_000);
    const took = performance.now() - started;
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /\[@x\/pubsub\] Redis unavailable during subscribe: connect ECONNREFUSED 127\.0\.0\.1:\d+\. nothing accepts connections at 127\.0\.0\.1:\d+: start Redis there/,
    );
    // The example's own deadline is 1 s; the rest is starting Node and tsx on a busy machine.
    expect(took).toBeLessThan(8_000);
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
