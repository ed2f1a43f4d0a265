/**
 * The code blocks of a package README, as the release check compiles and runs them.
 *
 * Conventions (documented in checks/release-check/README.md):
 * - The **quick start** is the first ```ts (or ```js) block under the `## Quick start` heading. It
 *   is a whole program: run as ESM and as CommonJS, it exits by itself with status 0, or it is a
 *   server that answers HTTP 200 on `$PORT`. It reads Redis from `REDIS_URL`.
 * - **Every** ```ts block is type-checked as a user's module. A block that is not a whole program
 *   says what it assumes in an HTML comment right before its fence:
 *   `<!-- fragment: import type { Redis } from 'ioredis'; declare const redis: Redis; -->`.
 *   That code (invisible on the rendered page) is put before the block when it is compiled.
 * - `<!-- not-a-program -->` before a fence skips the block entirely; used sparingly.
 */

/** One fenced code block of a README. */
export interface ReadmeBlock {
  /** `ts` or `js`. */
  lang: string;
  /** The block's code (without the fences). */
  code: string;
  /** 1-based line of the block's first code line in the README. */
  line: number;
  /** The `## ` heading the block sits under ('' before the first heading). */
  section: string;
  /** Code from a `<!-- fragment: ... -->` marker, put before the block when compiling. */
  prelude: string | undefined;
  /** True with a `<!-- not-a-program -->` marker. */
  skipped: boolean;
}

const FENCE = /^```(\S*)\s*$/;

function markerBefore(lines: string[], fenceIndex: number): string | undefined {
  let end = fenceIndex - 1;
  while (end >= 0 && lines[end]!.trim() === '') end--;
  if (end < 0 || !lines[end]!.trimEnd().endsWith('-->')) return undefined;
  let start = end;
  while (start >= 0 && !lines[start]!.includes('<!--')) start--;
  if (start < 0) return undefined;
  const text = lines.slice(start, end + 1).join('\n');
  const inner = text.slice(text.indexOf('<!--') + 4, text.lastIndexOf('-->')).trim();
  return inner;
}

/** Every fenced block of a README with a language tag, in order. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const open = FENCE.exec(line);
    if (!open) continue;
    let close = i + 1;
    while (close < lines.length && !/^```\s*$/.test(lines[close]!)) close++;
    const lang = open[1] ?? '';
    if (lang) {
      const marker = markerBefore(lines, i);
      const fragment = marker?.startsWith('fragment:')
        ? marker.slice('fragment:'.length).trim()
        : undefined;
      blocks.push({
        lang,
        code: `${lines.slice(i + 1, close).join('\n')}\n`,
        line: i + 2,
        section,
        prelude: fragment,
        skipped: marker === 'not-a-program',
      });
    }
    i = close;
  }
  return blocks;
}

/** The TypeScript blocks to type-check (every ```ts block without `not-a-program`). */
export function typeScriptBlocks(markdown: string): ReadmeBlock[] {
  return readmeBlocks(markdown).filter((b) => b.lang === 'ts' && !b.skipped);
}

/** The quick start: the first ```ts or ```js block under `## Quick start`. */
export function quickStart(markdown: string): ReadmeBlock {
  const block = readmeBlocks(markdown).find(
    (b) => b.section === 'Quick start' && (b.lang === 'ts' || b.lang === 'js'),
  );
  if (!block) {
    throw new Error('the README has no ```ts or ```js block under a "## Quick start" heading');
  }
  if (block.prelude !== undefined || block.skipped) {
    throw new Error('the quick start must be a whole program: it cannot carry a marker');
  }
  return block;
}
