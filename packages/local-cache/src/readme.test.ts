import { fileURLToPath } from 'node:url';
import { readmeExample } from '@x/testkit';
import { describe, it } from 'vitest';

const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));

describe.concurrent('README quick start', () => {
  it('runs and prints what the comments promise', async ({ expect }) => {
    const result = await example.run({});
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Ada (60000|59\d{3}) \{ lang: 'en', tz: 'UTC' \}\n/);
    expect(result.stdout).toContain("[ 'login', 'view' ] {");
    expect(result.stdout).toContain('itemCount: 3,');
    expect(result.stdout).toContain('hits: 3,');
    expect(result.stdout).toContain('maxBytes: 10485760');
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
