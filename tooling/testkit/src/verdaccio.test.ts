import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startVerdaccio } from './verdaccio';

const run = promisify(execFile);
const temp: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe('startVerdaccio', () => {
  it('takes anonymous publishes of the scope and installs them with plain npm', async () => {
    const registry = await startVerdaccio({ upstream: false });
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const pkg = tempDir('x-verdaccio-pkg-');
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: '@x/probe', version: '1.2.3', main: 'index.js' }),
    );
    writeFileSync(join(pkg, 'index.js'), 'module.exports = 42;\n');
    await run('npm', ['publish'], { cwd: pkg, env: registry.env() });

    const doc = await registry.packument('@x/probe');
    expect(Object.keys((doc?.versions as object) ?? {})).toEqual(['1.2.3']);

    const app = tempDir('x-verdaccio-app-');
    writeFileSync(join(app, 'package.json'), '{"private":true}');
    await run('npm', ['install', '@x/probe'], { cwd: app, env: registry.env() });
    const installed = JSON.parse(
      readFileSync(join(app, 'node_modules/@x/probe/package.json'), 'utf8'),
    );
    expect(installed.version).toBe('1.2.3');
    await registry.stop();
  });

  it('never proxies its scopes, and proxies every other package from the upstream', async () => {
    // `@types` exists upstream: served as a local-only scope here, it must not come through.
    const registry = await startVerdaccio({ scopes: ['@types'] });
    expect(await registry.packument('@types/node')).toBeUndefined();
    const ms = await registry.packument('ms');
    expect(ms?.name).toBe('ms');
    await registry.stop();
  });

  it('stop() ends the process and removes its storage', async () => {
    const registry = await startVerdaccio({ upstream: false });
    const { pid, dir } = registry;
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await registry.stop();
    await registry.stop();
    expect(existsSync(dir)).toBe(false);
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || /\) Z/.test(stat)).toBe(true);
    await expect(fetch(`${registry.url}-/ping`)).rejects.toThrow();
  });
});
