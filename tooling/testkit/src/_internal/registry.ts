import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Something the kit started and must stop at the end of the test file. */
export interface Stoppable {
  stop(): Promise<void>;
}

const KEY = Symbol.for('@x/testkit.registry');

interface Registry {
  live: Set<Stoppable>;
  pids: Set<number>;
  pidDir: string | undefined;
  stopAll(): Promise<void>;
}

function create(): Registry {
  const registry: Registry = {
    live: new Set(),
    pids: new Set(),
    pidDir: undefined,
    async stopAll() {
      const all = [...registry.live];
      registry.live.clear();
      await Promise.allSettled(all.map((s) => s.stop()));
    },
  };
  // Last resort if the test process exits without running afterAll: SIGKILL synchronously.
  process.once('exit', () => {
    for (const pid of registry.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (registry.pidDir) rmSync(registry.pidDir, { recursive: true, force: true });
  });
  return registry;
}

/** The per-process registry (shared with the vitest setup file through a global symbol). */
export function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[KEY];
  if (!r) {
    r = create();
    g[KEY] = r;
  }
  return r;
}

/** Tracks a live resource until it is stopped. */
export function track(s: Stoppable): void {
  registry().live.add(s);
}

/** Stops tracking a resource that stopped by itself. */
export function untrack(s: Stoppable): void {
  registry().live.delete(s);
}

/**
 * Records a child pid. A detached watchdog shell SIGKILLs every recorded pid if this process dies
 * without cleaning up (even by SIGKILL), so no redis-server outlives its test run.
 */
export function trackPid(pid: number): void {
  const r = registry();
  if (!r.pidDir) {
    r.pidDir = mkdtempSync(join(tmpdir(), 'x-testkit-pids-'));
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      'for f in "$0"/*; do [ -e "$f" ] && kill -9 "$(basename "$f")" 2>/dev/null; done',
      'rm -rf "$0"',
    ].join('; ');
    const watchdog = spawn('sh', ['-c', script, r.pidDir], { detached: true, stdio: 'ignore' });
    watchdog.unref();
  }
  r.pids.add(pid);
  writeFileSync(join(r.pidDir, String(pid)), '');
}

/** Forgets a pid once its process is gone. */
export function untrackPid(pid: number): void {
  const r = registry();
  r.pids.delete(pid);
  if (r.pidDir) {
    try {
      unlinkSync(join(r.pidDir, String(pid)));
    } catch {}
  }
}

/** Stops everything this process started through the kit. */
export function stopAll(): Promise<void> {
  return registry().stopAll();
}
