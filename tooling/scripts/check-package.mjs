#!/usr/bin/env node
// Package checks for one published package (run from its folder by `turbo run check:package`):
// pack it the way it is published (pnpm applies publishConfig), then run publint --strict and
// attw on the tarball, so the checks see exactly what npm users get.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = mkdtempSync(join(tmpdir(), 'x-pack-'));
try {
  execFileSync('pnpm', ['pack', '--pack-destination', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = join(
    out,
    readdirSync(out).find((f) => f.endsWith('.tgz')),
  );
  execFileSync('pnpm', ['exec', 'publint', 'run', tarball, '--strict'], { stdio: 'inherit' });
  execFileSync(
    'pnpm',
    ['exec', 'attw', tarball, '--profile', 'node16', '--format', 'table-flipped'],
    {
      stdio: 'inherit',
    },
  );
} catch (error) {
  console.error(`package check failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
