import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleWorker, startWorker } from './bundle-worker';

const dir = mkdtempSync(join(tmpdir(), 'x-testkit-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bundleWorker + startWorker', () => {
  it('runs the bundle with its arguments and stdin; stdout, stderr and the exit code come back', async () => {
    const entry = join(dir, 'echo.ts');
    writeFileSync(
      entry,
      [
        "const prefix: string = process.argv[2] ?? '';",
        "process.stdin.once('data', (chunk) => {",
        '  console.log(prefix + String(chunk).trim().toUpperCase(), process.env.REDIS_URL);',
        "  console.error('done');",
        '  process.exit(7);',
        '});',
      ].join('\n'),
    );
    process.env.REDIS_URL = 'redis://caller';
    try {
      const worker = startWorker(await bundleWorker(entry), ['> ']);
      worker.write('hello\n');
      expect(await worker.exited).toBe(7);
      expect(worker.stdout()).toBe('> HELLO undefined\n');
      expect(worker.stderr()).toBe('done\n');
    } finally {
      delete process.env.REDIS_URL;
    }
  }, 30_000);
});
