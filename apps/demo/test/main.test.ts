import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('..', import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('pnpm start', () => {
  it('starts with no Redis on PORT, answers /status, stops cleanly on SIGTERM', async () => {
    // PORT=0: the OS picks a free port, read back from the log (no race with other processes).
    const env: Record<string, string | undefined> = { ...process.env, PORT: '0' };
    delete env.REDIS_URL;
    // tsx directly (what `pnpm start` runs), so the signal reaches the app itself.
    child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.resolve('tsx/cli')), '--conditions=@x/source', 'src/main.ts'],
      { cwd: DEMO, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));

    const port = await waitFor(
      'the listening line',
      () => /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1],
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const status = await waitFor(
      '/status',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/status`);
        return res.ok ? ((await res.json()) as { activeBackend: string }) : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    expect(status.activeBackend).toBe('fallback');
    expect(output).toContain(`Server listening at http://127.0.0.1:${port}`);
    expect(output.match(/"level":40/g)).toHaveLength(1);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  });
});
