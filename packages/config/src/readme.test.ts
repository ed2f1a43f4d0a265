import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('reads REDIS_URL, logs the config redacted and round-trips a value', async ({ expect }) => {
    const redis = await startRedis({ password: 'secret' });
    const code = example.code;
    expect(code).toContain('loadConfig()');
    const result = await example.run({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT: '1s' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('redis config');
    expect(result.stdout).toContain("password: '***'");
    expect(result.stdout).toContain('commandTimeoutMs: 1000');
    expect(result.stdout).not.toContain('secret');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('hello');
    const client = new Redis(redis.url);
    try {
      expect(await client.get('greeting')).toBe('hello');
    } finally {
      client.disconnect();
    }
  });

  it('starts and exits without Redis (waitForReady gives up after its timeout)', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await redis.stop();
    // An example that never ends is killed after 15 s (exitCode null).
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('redis config');
    expect(result.stdout).not.toContain('hello');
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
