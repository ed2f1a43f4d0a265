import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { describe, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const rootDir = resolve(packageDir, '../..');
const example = readmeExample(packageDir);

/**
 * Every ```ts block of the README, as a user would compile it: its own module, `strict`,
 * `module`/`moduleResolution` `nodenext` (the package resolves to its source through the
 * `@x/source` condition). A block that is not a whole program says what it assumes in a
 * `<!-- fragment: ... -->` comment right before its fence; that code goes first.
 */
function readmeBlocks(): { line: number; code: string }[] {
  const lines = readFileSync(join(packageDir, 'README.md'), 'utf8').split('\n');
  const blocks: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    let end = i + 1;
    while (lines[end] !== '```') end++;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = /^<!-- fragment: (.*) -->$/.exec(lines[before] ?? '');
    blocks.push({
      line: i + 2,
      code: `${marker?.[1] ?? ''}\n${lines.slice(i + 1, end).join('\n')}\n`,
    });
    i = end;
  }
  return blocks;
}

function typecheckNodeNext(blocks: { line: number; code: string }[]): Promise<string> {
  // Inside the package, so that `@x/reconnect` and `ioredis` resolve as they do for a user.
  const dir = mkdtempSync(join(packageDir, '.readme-nodenext-'));
  for (const { line, code } of blocks) writeFileSync(join(dir, `block-line-${line}.ts`), code);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'nodenext',
        moduleResolution: 'nodenext',
        moduleDetection: 'force',
        customConditions: ['@x/source'],
        strict: true,
        noEmit: true,
        types: ['node'],
      },
      include: ['*.ts'],
    }),
  );
  return new Promise((done) => {
    const tsc = spawn(
      process.execPath,
      [join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
      { cwd: dir },
    );
    let output = '';
    tsc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    tsc.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    tsc.on('close', () => {
      rmSync(dir, { recursive: true, force: true });
      done(output);
    });
  });
}

describe.concurrent('README quick start', () => {
  it('pings through retry() and reports the connection', async ({ expect }) => {
    const redis = await startRedis();
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toEqual(['redis ready after 0 retries', 'PONG']);
    expect(result.stderr).toBe('');
  });

  it('with Redis down: finishes quickly and says why', async ({ expect }) => {
    const redis = await startRedis();
    await redis.stop();
    const t0 = performance.now();
    // Killed after 15 s (exitCode null): with ioredis' defaults the example took about 19 s.
    const result = await example.run({ REDIS_URL: redis.url });
    const took = performance.now() - t0;
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `redis unreachable after 3 attempts: connect ECONNREFUSED 127.0.0.1:${redis.port}\n`,
    );
    // The example itself needs about a second; the rest is starting Node and tsx.
    expect(took).toBeLessThan(8_000);
  });

  it('every ts block type-checks for a user on module nodenext + strict', async ({ expect }) => {
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    expect(blocks[0]!.code).toContain("import { Redis } from 'ioredis';");
    expect(await typecheckNodeNext(blocks)).toBe('');
  }, 60_000);
});
