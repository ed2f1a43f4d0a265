import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { createSessionStore } from './session-store';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('creates, patches, rotates and logs out the other sessions', async ({ expect }) => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    // A second device of the same user: the quick start logs it out.
    const other = createSessionStore({ redis: client });
    const otherId = await other.create('user-42', { device: 'phone' });
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    try {
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain("userId: 'user-42',");
      expect(result.stdout).toContain("data: { role: 'admin', theme: 'dark' },");
      expect(await other.get(otherId)).toBeNull();
      const left = await other.listUserSessions('user-42');
      expect(left).toHaveLength(1);
      expect(left[0]?.data).toEqual({ role: 'admin', theme: 'dark' });
      expect(result.stdout).not.toContain(left[0]?.id);
    } finally {
      await other.close();
      client.disconnect();
    }
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
