import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis, waitFor } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.concurrent('README quick start', () => {
  it('serves 10 requests, then 429 with the standard headers', async ({ expect }) => {
    const redis = await startRedis();
    const port = await freePort();
    expect(example.code).toContain('process.env.REDIS_URL');
    await example.whileRunning({ REDIS_URL: redis.url, PORT: String(port) }, async () => {
      const url = `http://127.0.0.1:${port}/`;
      await waitFor('the example to listen', () => fetch(url).then(() => true), {
        timeoutMs: 15_000,
      });
      // gcra, 10 per second: a burst of 10, then one more every 100 ms. Sent at once so the
      // burst is what is measured; the bound allows for the requests a slow machine spreads out.
      const started = performance.now();
      const responses = await Promise.all(Array.from({ length: 30 }, () => fetch(url)));
      const elapsedMs = performance.now() - started;
      const statuses = responses.map((r) => r.status);
      const limited = responses.find((r) => r.status === 429);
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(
        10 + Math.floor(elapsedMs / 100),
      );
      expect(limited!.headers.get('ratelimit-limit')).toBe('10');
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(0);
    });
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
