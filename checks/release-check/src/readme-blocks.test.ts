import { describe, expect, it } from 'vitest';
import { quickStart, readmeBlocks, typeScriptBlocks } from './readme-blocks';

const README = [
  '# @x/thing', // 1
  '', // 2
  '## Install', // 3
  '', // 4
  '```sh', // 5
  'npm i @x/thing', // 6
  '```', // 7
  '', // 8
  '## Quick start', // 9
  '', // 10
  '```ts', // 11
  "import { a } from '@x/thing';", // 12
  'console.log(a);', // 13
  '```', // 14
  '', // 15
  '## API', // 16
  '', // 17
  '<!-- fragment: import { a } from "@x/thing";', // 18
  'declare const b: number; -->', // 19
  '```ts', // 20
  'a(b);', // 21
  '```', // 22
  '', // 23
  '<!-- not-a-program -->', // 24
  '', // 25
  '```ts', // 26
  'shape { of: the, api }', // 27
  '```', // 28
].join('\n');

describe('README blocks', () => {
  it('finds fenced blocks with their language, section and first code line', () => {
    const blocks = readmeBlocks(README);
    expect(blocks.map((b) => [b.lang, b.section, b.line])).toEqual([
      ['sh', 'Install', 6],
      ['ts', 'Quick start', 12],
      ['ts', 'API', 21],
      ['ts', 'API', 27],
    ]);
  });

  it('reads the fragment prelude and the not-a-program marker', () => {
    const blocks = readmeBlocks(README);
    expect(blocks[2]!.prelude).toBe('import { a } from "@x/thing";\ndeclare const b: number;');
    expect(blocks[2]!.skipped).toBe(false);
    expect(blocks[3]!.skipped).toBe(true);
    expect(typeScriptBlocks(README).map((b) => b.line)).toEqual([12, 21]);
  });

  it('takes the first ts block under "## Quick start" as the program', () => {
    expect(quickStart(README).code).toBe("import { a } from '@x/thing';\nconsole.log(a);\n");
    expect(() => quickStart('# nothing\n')).toThrow(/Quick start/);
  });
});
