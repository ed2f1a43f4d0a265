import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis, typecheckSections } from '@x/testkit';
import { describe, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const example = readmeExample(packageDir);

describe.concurrent('README quick start', () => {
  it('serves 10 requests, then 429 with the standard headers', async ({ expect }) => {
    const redis = await startRedis();
    expect(example.code).toContain('process.env.REDIS_URL');
    await example.whileListening({ REDIS_URL: redis.url }, async (app) => {
      const url = `${app.url}/`;
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

// The framework sections are complete programs (servers): each is run as written, with the
// Redis and the port it is given, driven over HTTP, then stopped; and type-checked.
describe('README framework programs', () => {
  it('"Use with Express": 10 admitted, then 429 with the headers; Redis killed: still limited', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await whileServing('Use with Express', { REDIS_URL: redis.url }, async (get) => {
      const responses = [];
      for (let i = 0; i < 12; i++) responses.push(await get());
      expect(responses[0]!.status).toBe(200);
      // draft-8: RateLimit: "<name>"; r=<remaining>; t=<seconds>
      expect(responses[0]!.headers.get('ratelimit')).toMatch(/; r=9; t=\d+$/);
      expect(responses[0]!.headers.get('ratelimit-policy')).toMatch(/; q=10; w=60;/);
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(10);
      expect(statuses.at(-1)).toBe(429);
      expect(Number(responses.at(-1)!.headers.get('retry-after'))).toBeGreaterThan(0);
      await redis.kill();
      // The local fallback keeps enforcing the limit (a fresh count, in this process).
      const during = [];
      for (let i = 0; i < 12; i++) during.push((await get()).status);
      expect(during.filter((s) => s === 200).length).toBeLessThanOrEqual(10);
      expect(during.at(-1)).toBe(429);
    });
  });

  it('"Use with Fastify": 10 admitted, then 429 with the headers; Redis killed: still limited', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await whileServing('Use with Fastify', { REDIS_URL: redis.url }, async (get) => {
      const responses = [];
      for (let i = 0; i < 12; i++) responses.push(await get());
      expect(responses.map((r) => r.status)).toEqual([...Array(10).fill(200), 429, 429]);
      expect(responses[0]!.headers.get('ratelimit-limit')).toBe('10');
      expect(responses[0]!.headers.get('ratelimit-remaining')).toBe('9');
      // gcra, 10 per minute: one more every 6 s.
      expect(responses[10]!.headers.get('retry-after')).toBe('6');
      await redis.kill();
      const during = [];
      for (let i = 0; i < 12; i++) during.push((await get()).status);
      expect(during).toEqual([...Array(10).fill(200), 429, 429]);
    });
  });

  // One compiler run for both programs (tsc takes seconds on this machine).
  it('type-check as written', { timeout: 60_000 }, async ({ expect }) => {
    const result = await typecheckSections(
      packageDir,
      ['Use with Express', 'Use with Fastify'],
      55_000,
    );
    expect(result.output).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

/** Runs the program of the README section `title`, with a GET of `/` that reads the whole body. */
function whileServing(
  title: string,
  env: Record<string, string>,
  use: (get: () => Promise<Response>) => Promise<void>,
): Promise<void> {
  return readmeExample(packageDir, title).whileListening(env, (app) =>
    use(async () => {
      const response = await fetch(`${app.url}/`);
      await response.arrayBuffer();
      return response;
    }),
  );
}
