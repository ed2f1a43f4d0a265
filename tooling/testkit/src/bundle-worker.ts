// Bundles a worker script (and the workspace packages it imports, from source) into one .mjs file with
// esbuild, so child processes start with plain `node` in a fraction of the time tsx needs.
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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
