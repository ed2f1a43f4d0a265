import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readmeExample, readmeSection, typecheckPrograms, typecheckSections } from './readme';
import { readmeBlocks, typecheckBlocks } from './readme-blocks';

// A package of its own (a README only), inside the kit so that tsx and the types resolve.
const packageDir = mkdtempSync(
  join(fileURLToPath(new URL('..', import.meta.url)), '.readme-fixture-'),
);
afterAll(() => rmSync(packageDir, { recursive: true, force: true }));
writeFileSync(
  join(packageDir, 'README.md'),
  [
    '# fixture', // line 1
    '## Quick start',
    '```ts',
    "const greeting: string = 'hello';",
    '```',
    'Then:',
    '```ts',
    "console.log(greeting, process.env.WHO, process.env.REDIS_URL ?? 'none');",
    '```',
    '### A subsection', // line 10
    '```ts',
    "console.log('and more');",
    '```',
    '## Server',
    '```ts',
    "import { createServer } from 'node:http';",
    "createServer((_req, res) => res.end('served')).listen(Number(process.env.PORT), '127.0.0.1');",
    "process.on('SIGTERM', () => process.exit(3));",
    '```',
    '## Broken', // line 20
    '<!-- fragment: declare const port: number; -->',
    '',
    '```ts',
    'const n: string = port;',
    '```',
    '```sh',
    'echo not ts',
    '```',
    '',
  ].join('\n'),
);

describe('readmeSection', () => {
  it('joins the ts blocks of a section and its subsections, up to the next heading of its level', () => {
    expect(readmeSection(packageDir, 'A subsection')).toBe("console.log('and more');\n");
    expect(readmeSection(packageDir, 'Quick start')).toBe(
      [
        "const greeting: string = 'hello';\n",
        "console.log(greeting, process.env.WHO, process.env.REDIS_URL ?? 'none');\n",
        "console.log('and more');\n",
      ].join('\n'),
    );
    expect(() => readmeSection(packageDir, 'Missing')).toThrow(/no "Missing" section/);
  });
});

describe('readmeExample', () => {
  it('runs a section (the quick start by default) with the env it is given, none of the caller', async () => {
    process.env.REDIS_URL = 'redis://caller';
    try {
      const result = await readmeExample(packageDir).run({ WHO: 'ann' });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe('hello ann none\nand more\n');
      expect(result.output).toBe(result.stdout);
    } finally {
      delete process.env.REDIS_URL;
    }
  });

  it('whileListening: passes a free PORT, waits until it accepts connections, stops it', async () => {
    const server = readmeExample(packageDir, 'Server');
    const code = await server.whileListening({}, async (app) => {
      expect(app.url).toBe(`http://127.0.0.1:${app.port}`);
      expect(await (await fetch(app.url)).text()).toBe('served');
      return app.stop();
    });
    expect(code).toBe(3);
    await expect(
      server.whileListening({}, async () => {
        throw new Error('a failed assertion');
      }),
    ).rejects.toThrow(/a failed assertion\nprogram output:\n/);
  });

  it('type-checks: what tsc says of a section, and of several programs in one run', async () => {
    const broken = await readmeExample(packageDir, 'Broken').typecheck();
    expect(broken.exitCode).not.toBe(0);
    // The section alone: the fragment's declaration is not part of it.
    expect(broken.output).toMatch(/broken\.ts\(1,19\): error TS2304: Cannot find name 'port'/);
    const both = await typecheckPrograms(packageDir, [
      readmeSection(packageDir, 'Quick start'),
      readmeSection(packageDir, 'Broken'),
    ]);
    expect(both.output).toMatch(/program-1\.ts\(1,19\): error TS2304/);
    expect(both.output).not.toMatch(/program-0/);
    expect((await readmeExample(packageDir).typecheck()).output).toBe('');
    const sections = await typecheckSections(packageDir, ['Server', 'Broken']);
    expect(sections.output.trim()).toMatch(/^\S*broken\.ts\(1,19\): error TS2304[^\n]*$/);
  }, 60_000);
});

describe('readmeBlocks', () => {
  it('every ts block with its fragment, type-checked under nodenext: errors name the README line', async () => {
    const blocks = readmeBlocks(packageDir);
    expect(blocks.map((b) => b.line)).toEqual([4, 8, 12, 16, 24]);
    expect(blocks[4]!.code).toBe('declare const port: number;\nconst n: string = port;\n');
    const result = await typecheckBlocks(packageDir, blocks);
    // Each block is a module of its own: the second one does not see the first one's greeting.
    expect(result.output.trim().split('\n').sort()).toEqual([
      expect.stringMatching(/^block-line-24\.ts\(2,7\): error TS2322/),
      expect.stringMatching(/^block-line-8\.ts\(2,13\): error TS2304: Cannot find name 'greeting'/),
    ]);
  }, 60_000);
});
