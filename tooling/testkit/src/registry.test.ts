import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from './_internal/wait';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const entry = fileURLToPath(new URL('./index.ts', import.meta.url));

/** Runs a script that starts a server, prints its pid, then waits (or exits) as told. */
function child(then: 'hang' | 'exit') {
  const script = `
    import { startRedis } from ${JSON.stringify(entry)};
    const r = await startRedis();
    console.log('PID', r.pid);
    ${then === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
  `;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PID (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', () => reject(new Error(`child exited before starting redis: ${out}`)));
  });
  return { proc, pid };
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z/.test(procStat(pid));
function procStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ') Z';
  }
}

describe('no orphans', () => {
  it('a test process that exits without cleanup takes its servers with it', async () => {
    const { pid } = child('exit');
    const redisPid = await pid;
    await waitFor('redis-server to be gone', () => !alive(redisPid), { timeoutMs: 5_000 });
    expect(alive(redisPid)).toBe(false);
  });

  it('a test process killed with SIGKILL has its servers killed by the watchdog', async () => {
    const { proc, pid } = child('hang');
    const redisPid = await pid;
    expect(alive(redisPid)).toBe(true);
    proc.kill('SIGKILL');
    await waitFor('the watchdog to kill redis-server', () => !alive(redisPid), {
      timeoutMs: 5_000,
    });
    expect(alive(redisPid)).toBe(false);
  });
});
