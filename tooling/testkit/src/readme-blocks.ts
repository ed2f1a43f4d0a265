import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runNode, tscBin, withTempFiles } from './_internal/node-program';
import type { ExampleResult } from './readme';

/** One fenced `ts` block of a README, as a module of its own. */
export interface ReadmeBlock {
  /** The README line of the block's first code line (files are named after it). */
  line: number;
  /** The code of its `<!-- fragment: ... -->` marker (if any), then the block's code. */
  code: string;
}

/**
 * Every fenced `ts` block of the README in `packageDir`, in order. A block that is not a whole
 * program says what it assumes in a `<!-- fragment: ... -->` comment right before its fence (blank
 * lines between are allowed); that code goes first.
 */
export function readmeBlocks(packageDir: string): ReadmeBlock[] {
  const lines = readFileSync(join(packageDir, 'README.md'), 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
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

/**
 * Type-checks `blocks` as a user would compile them: each its own module (`block-line-<N>.ts`),
 * `strict`, `module`/`moduleResolution` `nodenext`, from a temporary folder inside `packageDir` so
 * the package (through the `@x/source` condition, to its source) and `ioredis` resolve as they do
 * for a user. One compiler run for all of them.
 * @default timeoutMs 55_000
 */
export function typecheckBlocks(
  packageDir: string,
  blocks: ReadmeBlock[],
  timeoutMs = 55_000,
): Promise<ExampleResult> {
  const files = Object.fromEntries(blocks.map(({ line, code }) => [`block-line-${line}.ts`, code]));
  const tsconfig = {
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
  };
  return withTempFiles(
    packageDir,
    files,
    (dir) => runNode([tscBin, '-p', dir], {}, timeoutMs, dir),
    tsconfig,
  );
}
