import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis, waitFor } from '@x/testkit';
import { describe, expect, it } from 'vitest';
import { promtoolCheck } from './_fixtures/promtool.js';
import { INSTRUMENTS } from './instruments.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const rootDir = resolve(packageDir, '../..');
const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
const example = readmeExample(packageDir);

describe.concurrent('README quick start', () => {
  it('runs as written: prints the decisions, the state and the breaker from a scrape', async () => {
    const redis = await startRedis();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const expected = [
      'x_redis_state{x_package="@x/ratelimit",x_connection="@x/ratelimit",x_state="ready",otel_scope_name="@x/otel"} 1',
      'x_breaker_state{x_package="@x/ratelimit",x_connection="@x/ratelimit",x_state="closed",otel_scope_name="@x/otel"} 1',
      'x_ratelimit_decisions_total{x_package="@x/ratelimit",x_source="redis",x_outcome="allowed",otel_scope_name="@x/otel"} 3',
    ];
    // The state may still read "connecting" if the connection's first verdict (an INFO after the
    // handshake) had not come back yet: every other line is exact.
    expect(lines.map((line) => line.replace('x_state="connecting"', 'x_state="ready"'))).toEqual(
      expected,
    );
    // The README shows that output.
    for (const line of expected) expect(readme).toContain(line);
  });

  it('runs as written with Redis down: the decisions come from the local fallback', async () => {
    const redis = await startRedis();
    await redis.kill();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'x_ratelimit_decisions_total{x_package="@x/ratelimit",x_source="local",x_outcome="allowed",otel_scope_name="@x/otel"} 3',
    );
    expect(result.stdout).toMatch(
      /^x_redis_state\{[^}]*x_state="(unusable|connecting)"[^}]*\} 1$/m,
    );
    expect(result.stdout).not.toMatch(/x_state="ready"[^}]*\} 1/);
  });
});

describe('README programs', () => {
  it('"Prometheus": serves /metrics that passes promtool, with the decisions it made', async () => {
    const redis = await startRedis();
    await whileRunning(section('Prometheus'), { REDIS_URL: redis.url }, async (get) => {
      const statuses = [];
      for (let i = 0; i < 12; i++) statuses.push((await get('/')).status);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
      expect(statuses).toContain(429);
      const response = await get('/metrics');
      expect(response.status).toBe(200);
      const text = await response.text();
      const check = await promtoolCheck(text);
      expect(check.output).toBe('');
      expect(check.code).toBe(0);
      expect(text).toMatch(
        /^x_ratelimit_decisions_total\{[^}]*x_source="redis",x_outcome="refused"[^}]*\} [1-9]/m,
      );
      expect(text).toMatch(
        /^db_client_operation_duration_count\{[^}]*db_operation_name="consume"/m,
      );
      await redis.kill();
      for (let i = 0; i < 3; i++) await get('/');
      const during = await (await get('/metrics')).text();
      expect(during).toMatch(/^x_fallback_served_total\{[^}]*x_source="local"[^}]*\} [1-9]/m);
      expect((await promtoolCheck(during)).code).toBe(0);
    });
  });

  it('"Traces, with the tracing SDK": the call is a child span of the active one', async () => {
    const redis = await startRedis();
    const prelude = `import { createRateLimiter } from '@x/ratelimit';
const limiter = createRateLimiter({ redis: process.env.REDIS_URL!, algorithm: 'fixed-window', limit: 10, windowMs: 1_000, logger: false });
`;
    const result = await runProgram(
      `${prelude}${section('Traces, with the tracing SDK')}\nawait limiter.close();\n`,
      { REDIS_URL: redis.url },
    );
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toMatch(/^true$/m);
    // ConsoleSpanExporter prints one object per span.
    const printed = result.output.split(/^\}$/m);
    const consume = printed.find((text) => text.includes("name: '@x/ratelimit consume'"));
    const checkout = printed.find((text) => text.includes("name: 'checkout'"));
    expect(consume, result.output).toBeDefined();
    const checkoutId = /\bid: '([0-9a-f]+)'/.exec(checkout ?? '')?.[1];
    expect(checkoutId).toMatch(/^[0-9a-f]{16}$/);
    expect(/parentSpanContext: \{[^}]*spanId: '([0-9a-f]+)'/.exec(consume!)?.[1]).toBe(checkoutId);
  });

  // One compiler run for every block (tsc takes seconds on this machine).
  it('every ts block type-checks as written', { timeout: 60_000 }, async () => {
    const blocks = tsBlocks();
    expect(blocks.length).toBe(3);
    const result = await typecheck(blocks);
    expect(result.output).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('README reference', () => {
  const TYPES = {
    counter: 'Counter',
    updowncounter: 'UpDownCounter',
    gauge: 'Gauge',
    histogram: 'Histogram',
  } as const;
  it.each(Object.values(INSTRUMENTS).map((spec) => [spec.name, spec] as const))(
    '%s is documented with its type, unit and attributes',
    (name, spec) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, `no README row for ${name}`).toBeDefined();
      const cells = row!.split(' | ');
      expect(cells[1]).toBe(TYPES[spec.kind]);
      expect(cells[2]).toBe(`\`${spec.unit}\``);
      for (const attribute of spec.attributes) expect(cells[3]).toContain(`\`${attribute}\``);
    },
  );
});

/** The fenced `ts` blocks of the README section `## <title>`, joined. */
function section(title: string): string {
  const part = readme.split(/^## /m).find((text) => text.startsWith(`${title}\n`));
  if (part === undefined) throw new Error(`README.md has no "## ${title}" section`);
  const blocks = [...part.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  if (blocks.length === 0) throw new Error(`the "${title}" section has no ts block`);
  return blocks.join('\n');
}

/** Every ts block of the README, with the code of its `<!-- fragment: ... -->` marker first. */
function tsBlocks(): string[] {
  return [...readme.matchAll(/(?:<!-- fragment: ([^\n]*?) -->\n)?^```ts\n([\s\S]*?)^```$/gm)].map(
    (match) => `${match[1] ?? ''}\n${match[2]}`,
  );
}

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
  // Only the Redis it is given; and no pnpm NODE_PATH, which a user's process does not have.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('REDIS_') && name !== 'NODE_PATH',
    ),
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

async function runProgram(
  code: string,
  env: Record<string, string>,
): Promise<{ exitCode: number | null; output: string }> {
  return withPrograms([code], async ([file]) => {
    const run = spawnNode(['--import', 'tsx', '--conditions=@x/source', file!], env);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    const exitCode = await run.exited;
    clearTimeout(timer);
    return { exitCode, output: run.output() };
  });
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
  use: (get: (path: string) => Promise<Response>) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  await withPrograms([code], async ([file]) => {
    const run = spawnNode(['--import', 'tsx', '--conditions=@x/source', file!], {
      ...env,
      PORT: String(port),
    });
    try {
      // Waits for the port without a request (a request would be counted by the limiter).
      await waitFor('the program to listen', () => canConnect(port), { timeoutMs: 15_000 });
      await use((path) => fetch(`http://127.0.0.1:${port}${path}`));
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
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
