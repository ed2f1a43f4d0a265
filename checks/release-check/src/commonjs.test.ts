import { describe, expect, it } from 'vitest';
import { toCommonJsProgram } from './commonjs';

describe('toCommonJsProgram', () => {
  it('keeps the imports on top and moves the rest into an async main()', () => {
    const out = toCommonJsProgram(
      [
        "import { createLockManager } from '@x/lock';",
        "import Redis from 'ioredis';",
        '',
        '// a comment that belongs to the statement',
        'const locks = createLockManager({ redis: process.env.REDIS_URL });',
        'console.log(await locks.stats());',
        'await locks.close(); // trailing',
        '',
      ].join('\n'),
    );
    expect(out.startsWith("import { createLockManager } from '@x/lock';\nimport Redis")).toBe(true);
    const main = out.slice(out.indexOf('async function main(): Promise<void> {'));
    expect(main).toContain('// a comment that belongs to the statement');
    expect(main).toContain('console.log(await locks.stats());');
    expect(main).toContain('await locks.close(); // trailing\n}');
    expect(out).toContain('main().catch((error: unknown) => {');
    expect(out.indexOf("from 'ioredis'")).toBeLessThan(out.indexOf('async function main'));
  });

  it('refuses a program that exports something', () => {
    expect(() => toCommonJsProgram('export const a = 1;\n')).toThrow(/exports/);
  });
});
