import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { createSessionStore } from './session-store';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const rootDir = resolve(packageDir, '../..');
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
    const down = await startRedis();
    await down.kill(); // a port where nothing listens
    const refused = await example.run({ REDIS_URL: down.url }, 15_000);
    expect(refused.exitCode, refused.stderr).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /\[@x\/session\] Redis unavailable during create: connect ECONNREFUSED 127\.0\.0\.1:\d+\. nothing accepts connections at 127\.0\.0\.1:\d+: start Redis there/,
    );
    const secured = await startRedis({ password: 'secret' });
    const wrong = await example.run({ REDIS_URL: secured.url.replace('secret', 'wrong') }, 15_000);
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
describe('README "Use with Express"', () => {
  const code = section('Use with Express');

  it('logs in, counts visits, logs out; Redis killed: 503, not "logged out"', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await whileRunning(code, { REDIS_URL: redis.url }, async (call, output) => {
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
      const down = await call('GET', '/me', again);
      expect(down).toMatchObject({ status: 503, body: { error: 'try again' } });
    });
  });
});

describe('README "Use with Fastify"', () => {
  const code = section('Use with Fastify');

  it('logs in, counts visits, logs out; Redis killed: fails closed with 500', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await whileRunning(code, { REDIS_URL: redis.url }, async (call, output) => {
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
      const down = await call('GET', '/me', again);
      expect(down).toMatchObject({ status: 500, body: { code: 'E_SESSION_UNAVAILABLE' } });
    });
  });
});

describe('README framework programs', () => {
  // One compiler run for both programs (tsc takes seconds on this machine).
  it('type-check as written', { timeout: 60_000 }, async ({ expect }) => {
    const result = await typecheck([section('Use with Express'), section('Use with Fastify')]);
    expect(result.output).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

/** The fenced `ts` blocks of the README section `## <title>`, joined. */
function section(title: string): string {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const part = readme.split(/^## /m).find((text) => text.startsWith(`${title}\n`));
  if (part === undefined) throw new Error(`README.md has no "## ${title}" section`);
  const blocks = [...part.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  if (blocks.length === 0) throw new Error(`the "${title}" section has no ts block`);
  return blocks.join('\n');
}

/**
 * Writes each program into a temporary folder of the package (so it resolves as a user's file
 * would), with a tsconfig extending the repository's.
 */
async function withPrograms<T>(codes: string[], use: (files: string[], dir: string) => Promise<T>) {
  const dir = mkdtempSync(join(packageDir, '.readme-'));
  const names = codes.map((_, i) => `program-${i}.ts`);
  for (const [i, code] of codes.entries()) writeFileSync(join(dir, names[i]!), code);
  const tsconfig = { extends: join(rootDir, 'tsconfig.base.json'), include: names };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  try {
    return await use(
      names.map((name) => join(dir, name)),
      dir,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnNode(args: string[], env: Record<string, string>) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('REDIS_')),
  );
  const child = spawn(process.execPath, args, {
    cwd: rootDir,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('close', done));
  return { child, exited, output: () => output };
}

async function typecheck(codes: string[]): Promise<{ exitCode: number | null; output: string }> {
  return withPrograms(codes, async (_files, dir) => {
    const tsc = join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnNode([tsc, '-p', join(dir, 'tsconfig.json')], {});
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 55_000);
    const exitCode = await run.exited;
    clearTimeout(timer);
    return { exitCode, output: run.output() };
  });
}

type Call = (
  method: string,
  path: string,
  cookie?: string,
) => Promise<{ status: number; body: Record<string, unknown>; cookie: string | undefined }>;

async function whileRunning(
  code: string,
  env: Record<string, string>,
  use: (call: Call, output: () => string) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  await withPrograms([code], async ([file]) => {
    const run = spawnNode(['--import', 'tsx', '--conditions=@x/source', file!], {
      ...env,
      PORT: String(port),
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('the program to listen', () => fetch(base).then(() => true), {
        timeoutMs: 15_000,
      });
      const call: Call = async (method, path, cookie) => {
        const response = await fetch(base + path, {
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
      await use(call, run.output);
    } finally {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
