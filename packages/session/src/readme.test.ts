import { fileURLToPath } from 'node:url';
import { readmeExample, startFailingRedis, startRedis, typecheckSections } from '@x/testkit';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { createSessionStore } from './session-store';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const example = readmeExample(packageDir);

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

  it('fails closed at once, saying why, when Redis is refused or the password is wrong', async ({
    expect,
  }) => {
    const down = await startFailingRedis('refused');
    const refused = await example.run({ REDIS_URL: down.url }, 15_000);
    expect(refused.exitCode, refused.stderr).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /\[@x\/session\] Redis unavailable during create: connect ECONNREFUSED 127\.0\.0\.1:\d+\. nothing accepts connections at 127\.0\.0\.1:\d+: start Redis there/,
    );
    const secured = await startFailingRedis('wrong-password');
    const wrong = await example.run({ REDIS_URL: secured.url }, 15_000);
    expect(wrong.exitCode, wrong.stderr).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(
      /\[@x\/session\] Redis unavailable during create: WRONGPASS .*REDIS_PASSWORD/,
    );
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

// The framework sections are complete programs (servers): each is run as written, with the
// Redis and the port it is given, driven over HTTP, then stopped; and type-checked.
// The same flow on both frameworks; they differ in how a request fails while Redis is down.
describe.each([
  {
    title: 'Use with Express',
    name: 'logs in, counts visits, logs out; Redis killed: 503, not "logged out"',
    down: { status: 503, body: { error: 'try again' } },
  },
  {
    title: 'Use with Fastify',
    name: 'logs in, counts visits, logs out; Redis killed: fails closed with 500',
    down: { status: 500, body: { code: 'E_SESSION_UNAVAILABLE' } },
  },
])('README "$title"', ({ title, name, down }) => {
  it(name, async ({ expect }) => {
    const redis = await startRedis();
    await whileServing(title, { REDIS_URL: redis.url }, async (call, output) => {
      const login = await call('POST', '/login');
      expect(login.status, output()).toBe(200);
      expect(login.body).toEqual({ user: 'olivia' });
      const cookie = login.cookie!;
      expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', visits: 1 });
      expect((await call('GET', '/me', cookie)).body).toEqual({ user: 'olivia', visits: 2 });
      expect((await call('POST', '/logout', cookie)).body).toEqual({ ok: true });
      expect((await call('GET', '/me', cookie)).body).toMatchObject({ user: null });
      const again = (await call('POST', '/login')).cookie!;
      await redis.kill();
      expect(await call('GET', '/me', again)).toMatchObject(down);
    });
  });
});

describe('README framework programs', () => {
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

type Call = (
  method: string,
  path: string,
  cookie?: string,
) => Promise<{ status: number; body: Record<string, unknown>; cookie: string | undefined }>;

/** Runs the program of the README section `title`, with a JSON call that carries a cookie. */
function whileServing(
  title: string,
  env: Record<string, string>,
  use: (call: Call, output: () => string) => Promise<void>,
): Promise<void> {
  return readmeExample(packageDir, title).whileListening(env, (app) => {
    const call: Call = async (method, path, cookie) => {
      const response = await fetch(app.url + path, {
        method,
        headers: cookie ? { cookie } : {},
      });
      const setCookie = response.headers.get('set-cookie');
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
        cookie: setCookie ? setCookie.split(';')[0] : undefined,
      };
    };
    return use(call, app.output);
  });
}
