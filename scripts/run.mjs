#!/usr/bin/env node
// One entry point for the README's commands, with no dependency of its own so it runs on a
// machine that has only Node and npm: it finds (or fetches) the pinned pnpm, installs the
// workspace, then runs the task. `npm run demo` / `npm test` call it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, '');

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (res.error) throw res.error;
  return res.status ?? 1;
}

function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], { cwd: root, encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim() === pnpmVersion) return ['pnpm', []];
  return ['npx', ['--yes', `pnpm@${pnpmVersion}`]];
}

const [pnpm, pre] = pnpmCommand();
const p = (...args) => run(pnpm, [...pre, ...args], { env: { ...process.env, CI: 'true' } });

const task = process.argv[2];
const rest = process.argv.slice(3);

if (p('install', '--frozen-lockfile=false', '--prefer-offline') !== 0) {
  console.error('install failed');
  process.exit(1);
}

function summarize() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const base of ['packages', 'apps', 'tooling']) {
    const dir = join(root, base);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const report = join(dir, name, '.test-results', 'vitest.json');
      if (!existsSync(report)) continue;
      const r = JSON.parse(readFileSync(report, 'utf8'));
      for (const suite of r.testResults ?? []) {
        const tests = suite.assertionResults ?? [];
        const bad = tests.filter((t) => t.status === 'failed').length;
        passed += tests.filter((t) => t.status === 'passed').length;
        skipped += tests.filter((t) => t.status === 'skipped' || t.status === 'pending').length;
        failed += bad;
        // A file that failed outside its tests (import error, a throwing beforeAll) counts once.
        if (suite.status === 'failed' && bad === 0) failed += 1;
      }
    }
  }
  return { passed, failed, skipped };
}

switch (task) {
  case 'demo':
    process.exit(p('--filter', '@x/demo', 'start', ...rest));
    break;
  case 'bench':
    process.exit(p('--filter', '@x/bench', 'bench', ...rest));
    break;
  case 'chaos':
    process.exit(p('--filter', '@x/chaos', 'chaos', ...rest));
    break;
  case 'redis:check':
  case 'redis:fallback-test':
    process.exit(p('--filter', '@x/demo', task, ...rest));
    break;
  case 'test': {
    const steps = [
      ['lint', ['exec', 'biome', 'ci', '.']],
      ['typecheck', ['exec', 'turbo', 'run', 'typecheck']],
      ['build', ['exec', 'turbo', 'run', 'build']],
      ['package checks', ['exec', 'turbo', 'run', 'check:package']],
      [
        'tests',
        [
          'exec',
          'turbo',
          'run',
          'test',
          '--concurrency=2',
          '--continue',
          '--filter=!@x/chaos',
          ...rest,
        ],
      ],
      // The chaos scenario measures latency under load: it runs alone, so other suites do not
      // starve its workers of CPU and turn scheduling delay into a broken deadline.
      ['chaos (short)', ['exec', 'turbo', 'run', 'test', '--filter=@x/chaos', ...rest]],
    ];
    // Reports from an earlier run must not be counted again.
    for (const base of ['packages', 'apps', 'tooling']) {
      const dir = join(root, base);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        rmSync(join(dir, name, '.test-results'), { recursive: true, force: true });
      }
    }
    let ok = true;
    for (const [name, args] of steps) {
      console.log(`\n=== ${name} ===`);
      if (p(...args) !== 0) {
        console.error(`=== ${name} FAILED ===`);
        ok = false;
      }
    }
    const { passed, failed, skipped } = summarize();
    // A failed step (lint, types, build, package checks) counts as one failure when no test did.
    const total = failed + (failed === 0 && !ok ? 1 : 0);
    console.log(`\n${passed} passed, ${total} failed${skipped ? `, ${skipped} skipped` : ''}`);
    process.exit(ok && failed === 0 ? 0 : 1);
    break;
  }
  default:
    console.error(
      `unknown task "${task}": use demo | test | bench | chaos | redis:check | redis:fallback-test`,
    );
    process.exit(2);
}
