import { fileURLToPath } from 'node:url';
import { freePort, readmeExample, startRedis } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

/** GETs `url` until it answers (the example is still starting), for at most `timeoutMs`. */
async function getWhenListening(
  url: string,
  timeoutMs = 12_000,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
    }
  }
}

describe.concurrent('README quick start', () => {
  it('serves readiness: 200 while Redis answers PING', async ({ expect }) => {
    const redis = await startRedis();
    const port = await freePort();
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    await example.whileRunning({ REDIS_URL: redis.url, PORT: String(port) }, async (output) => {
      const url = `http://127.0.0.1:${port}/readyz`;
      let { status, body } = await getWhenListening(url);
      // Until the first check (run at once) has answered, the status is the initial 'healthy'.
      const deadline = Date.now() + 3_000;
      while (body.checkedAt === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        ({ status, body } = await getWhenListening(url));
      }
      expect(status, output.stderr()).toBe(200);
      expect(body).toMatchObject({ ready: true, status: 'healthy', consecutiveFailures: 0 });
      expect(typeof body.latencyMs).toBe('number');
      expect(typeof body.checkedAt).toBe('string');
    });
  });

  it('serves readiness: 200 (degraded) after the first failed PING, and warns once', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await redis.stop();
    const port = await freePort();
    await example.whileRunning({ REDIS_URL: redis.url, PORT: String(port) }, async (output) => {
      const deadline = Date.now() + 10_000;
      let body: Record<string, unknown> = {};
      let status = 0;
      // The first check runs at once and fails: healthy -> degraded, which is still ready.
      while (body.status !== 'degraded' && Date.now() < deadline) {
        ({ status, body } = await getWhenListening(`http://127.0.0.1:${port}/readyz`));
        if (body.status !== 'degraded') await new Promise((r) => setTimeout(r, 50));
      }
      expect(body).toMatchObject({ ready: true, status: 'degraded', consecutiveFailures: 1 });
      expect(status).toBe(200);
      expect(output.stderr()).toContain('redis: healthy -> degraded');
    });
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
