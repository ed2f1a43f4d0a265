// Bundles a worker script (and the workspace packages it imports, from source) into one .mjs file with
// esbuild, so child processes start with plain `node` in a fraction of the time tsx needs.
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type NodeProcess, startNode } from './_internal/node-program';
import { track } from './_internal/registry';

interface EsbuildApi {
  build(options: Record<string, unknown>): Promise<unknown>;
}

/** Bundles `entry` into a temporary ESM file; resolves with its path. */
export async function bundleWorker(entry: string): Promise<string> {
  // esbuild comes with tsx (a root devDependency): resolve it from there.
  const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/cli'));
  const esbuild = (await import(pathToFileURL(fromTsx.resolve('esbuild')).href)) as EsbuildApi;
  const outfile = join(mkdtempSync(join(tmpdir(), 'x-worker-')), 'worker.mjs');
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@x/source'],
    outfile,
    logLevel: 'warning',
    // Bundled CommonJS dependencies (ioredis) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __xcr } from 'node:module'; const require = __xcr(import.meta.url);",
    },
  });
  return outfile;
}

/** A worker process: its input, its output so far, and its end. */
export interface WorkerProcess extends NodeProcess {
  /** Writes to the worker's stdin. */
  write(text: string): void;
}

/**
 * Starts `node <file> <args>` (a file from {@link bundleWorker}), with a pipe to its stdin and its
 * output collected. It sees none of the caller's `REDIS_*` settings; one still running at the end
 * of the test file is killed.
 *
 * @example
 * const worker = startWorker(await bundleWorker(entry), [redis.url]);
 * expect(await worker.exited).toBe(0);
 * JSON.parse(worker.stdout());
 */
export function startWorker(file: string, args: string[] = []): WorkerProcess {
  const run = startNode([file, ...args], {}, undefined, 'pipe');
  track({
    stop: async () => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await run.exited;
    },
  });
  return { ...run, write: (text) => void run.child.stdin!.write(text) };
}
