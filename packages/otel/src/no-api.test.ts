import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleWorker } from '@x/testkit';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('without @opentelemetry/api installed', () => {
  it('the package loads; instrument() throws OtelApiMissingError saying what to install', async () => {
    // @x/otel (with @x/connection and ioredis) bundled into one file in a temporary folder: the
    // API is never bundled (it is loaded lazily), and nothing there or above can resolve it.
    const file = await bundleWorker(
      fileURLToPath(new URL('./_fixtures/no-api.ts', import.meta.url)),
    );
    for (let dir = dirname(file); dir !== parse(dir).root; dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules', '@opentelemetry', 'api'))).toBe(false);
    }
    // pnpm's bin shims put its store on NODE_PATH: a user's process has no such thing.
    const { NODE_PATH: _, ...env } = process.env;
    const { stdout } = await run(process.execPath, [file], { cwd: dirname(file), env });
    expect(JSON.parse(stdout)).toEqual({
      otel: true,
      name: 'OtelApiMissingError',
      code: 'E_OTEL_API_MISSING',
      message: expect.stringMatching(
        /^\[@x\/otel\] instrument\(\) needs @opentelemetry\/api, which is not installed: run `npm install @opentelemetry\/api`/,
      ),
      cause: 'MODULE_NOT_FOUND',
    });
  });
});
