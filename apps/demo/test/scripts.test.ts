import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRedis } from '@x/testkit';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DEMO = fileURLToPath(new URL('..', import.meta.url));

/** Runs a package script; resolves with its exit code and output (never rejects on exit != 0). */
async function script(
  name: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('pnpm', ['-s', name], {
      cwd: DEMO,
      env: { ...process.env, ...env },
      timeout: 40_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

describe('package scripts', () => {
  it('pnpm redis:check reports a usable Redis (exit 0) and an unusable one (exit 1)', async () => {
    const [redis, gone] = await Promise.all([startRedis(), startRedis()]);
    await gone.kill();
    const [ok, down, missing] = await Promise.all([
      script('redis:check', { REDIS_URL: redis.url }),
      script('redis:check', { REDIS_URL: gone.url }),
      script('redis:check', { REDIS_URL: '' }),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`127.0.0.1:${redis.port}`);
    expect(ok.stdout).toMatch(/7\.\d+\.\d+/);

    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/FAIL .*refused/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/REDIS_URL is not set/);
  });

  it('pnpm redis:fallback-test fails over and recovers with no failed call', async () => {
    const result = await script('redis:fallback-test', {});
    const shown = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
    expect(result.stderr, shown).toBe('');
    expect(result.stdout, shown).toMatch(/EVENT failover/);
    expect(result.stdout, shown).toMatch(/EVENT recover/);
    expect(result.stdout, shown).toMatch(/^Redis killed +\d+ +0 +0 +0 +[1-9]\d*/m);
    expect(result.stdout, shown).toContain('RESULT: PASS');
    expect(result.code, shown).toBe(0);
  });
});
