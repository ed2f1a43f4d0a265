import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, startRedis } from '@x/testkit';
import { Redis } from 'ioredis';
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
  // Inside the package, so that `@x/breaker` and `ioredis` resolve as they do for a user.
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
  it('reads through the guard while Redis is up', async ({ expect }) => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    try {
      await client.set('greeting', 'hello');
    } finally {
      client.disconnect();
    }
    const code = example.code;
    expect(code).toContain('process.env.REDIS_URL');
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('greeting: hello | circuit: closed\n');
    expect(result.stderr).toBe('');
  });

  it('falls back to the default while Redis is down, and says so', async ({ expect }) => {
    const redis = await startRedis();
    await redis.stop();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('greeting: null | circuit: closed\n');
    expect(result.stderr).toBe('redis unavailable (connection): serving the default\n');
  });

  it('every ts block type-checks for a user on module nodenext + strict', async ({ expect }) => {
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks[0]!.code).toContain("import { Redis } from 'ioredis';");
    expect(await typecheckNodeNext(blocks)).toBe('');
  }, 60_000);
});
