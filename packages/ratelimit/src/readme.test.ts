import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis, waitFor } from '@x/testkit';
import { describe, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const rootDir = resolve(packageDir, '../..');
const example = readmeExample(packageDir);

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

// The framework sections are complete programs (servers): each is run as written, with the
// Redis and the port it is given, driven over HTTP, then stopped; and type-checked.
describe('README framework programs', () => {
  it('"Use with Express": 10 admitted, then 429 with the headers; Redis killed: still limited', async ({
    expect,
  }) => {
    const redis = await startRedis();
    await whileRunning(section('Use with Express'), { REDIS_URL: redis.url }, async (get) => {
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
    await whileRunning(section('Use with Fastify'), { REDIS_URL: redis.url }, async (get) => {
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

async function whileRunning(
  code: string,
  env: Record<string, string>,
  use: (get: () => Promise<Response>) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  await withPrograms([code], async ([file]) => {
    const run = spawnNode(['--import', 'tsx', '--conditions=@x/source', file!], {
      ...env,
      PORT: String(port),
    });
    try {
      const url = `http://127.0.0.1:${port}/`;
      // Waits for the port without a request (a request would be counted by the limiter).
      await waitFor('the program to listen', () => canConnect(port), { timeoutMs: 15_000 });
      await use(async () => {
        const response = await fetch(url);
        await response.arrayBuffer();
        return response;
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\nprogram output:\n${run.output()}`, {
        cause: error,
      });
    } finally {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
