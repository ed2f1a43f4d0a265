#!/usr/bin/env node
// One entry point for the README's commands, with no dependency of its own so it runs on a
// machine that has only Node and npm: it finds (or fetches) the pinned pnpm, installs the
// workspace, then runs the task. `npm run demo` / `npm test` call it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
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

// Node versions users run besides the machine's own (DESIGN.md section 7; README "Node versions").
const EXTRA_NODE_MAJORS = ['22', '24'];

/**
 * A Node.js binary of the given major, installed from the npm registry (`node-linux-<arch>`, a
 * package that carries the binary) into a cache folder outside the repository and reused from
 * there. Returns its path, or undefined (with the reason printed) where no such package exists.
 */
function nodeBinary(major) {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    console.error(`Node ${major}: no node-linux-* package for ${process.platform}/${process.arch}`);
    return undefined;
  }
  const pkg = `node-linux-${process.arch}`;
  const dir = join(process.env.X_NODE_CACHE || join(homedir(), '.cache', 'x-node'), major);
  const bin = join(dir, 'node_modules', pkg, 'bin', 'node');
  const version = () => {
    const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    return probe.status === 0 ? probe.stdout.trim() : '';
  };
  if (!version().startsWith(`v${major}.`)) {
    const status = run('npm', [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      `${pkg}@${major}`,
    ]);
    if (status !== 0 || !version().startsWith(`v${major}.`)) {
      console.error(`Node ${major}: npm install ${pkg}@${major} into ${dir} failed`);
      return undefined;
    }
  }
  console.log(`Node ${major}: ${bin} (${version()})`);
  return bin;
}

/** Workspace packages under packages/ whose package.json names ioredis: they talk to Redis. */
function redisPackages() {
  const dir = join(root, 'packages');
  const names = [];
  for (const name of readdirSync(dir)) {
    const file = join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    const fields = ['dependencies', 'peerDependencies', 'devDependencies'];
    if (fields.some((field) => manifest[field]?.ioredis)) names.push(manifest.name);
  }
  return names;
}

function summarize() {
  let passed = 0;
  let skipped = 0;
  /** One line per failure (the count of failures): pass, file, test, first line of its error. */
  const failures = [];
  for (const base of ['packages', 'apps', 'tooling', 'checks']) {
    const dir = join(root, base);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      // vitest.json, plus one vitest.<variant>.json per extra pass (ioredis6, node22, node24).
      const results = join(dir, name, '.test-results');
      if (!existsSync(results)) continue;
      for (const report of readdirSync(results)) {
        const match = /^vitest(?:\.([\w-]+))?\.json$/.exec(report);
        if (match === null) continue;
        const pass = match[1] ?? 'default';
        const suites = JSON.parse(readFileSync(join(results, report), 'utf8')).testResults ?? [];
        for (const suite of suites) {
          const file = relative(root, suite.name ?? '');
          const tests = suite.assertionResults ?? [];
          const bad = tests.filter((t) => t.status === 'failed');
          passed += tests.filter((t) => t.status === 'passed').length;
          skipped += tests.filter((t) => t.status === 'skipped' || t.status === 'pending').length;
          for (const t of bad) {
            failures.push(
              `[${pass}] ${file} > ${t.fullName ?? t.title}: ${firstLine(t.failureMessages?.[0])}`,
            );
          }
          // A file that failed outside its tests (import error, a throwing beforeAll) counts once.
          if (suite.status === 'failed' && bad.length === 0) {
            failures.push(`[${pass}] ${file}: ${firstLine(suite.message)}`);
          }
        }
      }
    }
  }
  return { passed, failed: failures.length, skipped, failures };
}

/** The first non-empty line of a failure message, short enough for a CI log's tail. */
function firstLine(message) {
  const line =
    String(message ?? '')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '(no message)';
  return line.trim().slice(0, 300);
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
    const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const extraNodes = [];
    const steps = [
      ['lint', () => p('exec', 'biome', 'ci', '.')],
      ['typecheck', () => p('exec', 'turbo', 'run', 'typecheck')],
      ['build', () => p('exec', 'turbo', 'run', 'build')],
      ['package checks', () => p('exec', 'turbo', 'run', 'check:package')],
      [
        'tests',
        () =>
          p(
            'exec',
            'turbo',
            'run',
            'test',
            '--concurrency=2',
            '--continue',
            '--filter=!@x/chaos',
            '--filter=!@x/release-check',
            ...rest,
          ),
      ],
      // The same tests of every package that talks to Redis, on the latest ioredis 6 (the preset
      // aliases `ioredis` to it). --force: its reports must come from this run, never from a
      // cache entry that also holds an older ioredis 5 report.
      [
        'tests on ioredis 6',
        () =>
          p(
            'exec',
            'turbo',
            'run',
            'test',
            '--concurrency=2',
            '--continue',
            '--force',
            ...[...redisPackages(), '@x/vitest-config'].map((name) => `--filter=${name}`),
            ...rest,
          ),
        { X_IOREDIS: '6' },
      ],
      [
        'Node 22 and 24',
        () => {
          extraNodes.length = 0;
          for (const major of EXTRA_NODE_MAJORS) {
            const bin = nodeBinary(major);
            if (!bin) return 1;
            extraNodes.push([major, bin]);
          }
          return 0;
        },
      ],
      // pnpm release to a loopback registry, then every package installed alone with npm; its
      // quick start runs on Node 20, 22 and 24.
      [
        'release round trip',
        () => p('--filter', '@x/release-check', 'test', ...rest),
        () => ({ X_NODE_BINARIES: extraNodes.map(([, bin]) => bin).join(':') }),
      ],
      ...EXTRA_NODE_MAJORS.map((major) => [
        `compat suite on Node ${major}`,
        () => {
          const bin = extraNodes.find(([m]) => m === major)?.[1];
          if (!bin) return 1;
          return run(bin, [vitest, 'run', ...rest], {
            cwd: join(root, 'checks', 'compat'),
            env: {
              ...process.env,
              CI: 'true',
              X_TEST_VARIANT: `node${major}`,
              PATH: `${dirname(bin)}${delimiter}${process.env.PATH}`,
            },
          });
        },
      ]),
      // The chaos scenario measures latency under load: it runs alone, so other suites do not
      // starve its workers of CPU and turn scheduling delay into a broken deadline.
      ['chaos (short)', () => p('exec', 'turbo', 'run', 'test', '--filter=@x/chaos', ...rest)],
    ];
    // Reports from an earlier run must not be counted again.
    for (const base of ['packages', 'apps', 'tooling', 'checks']) {
      const dir = join(root, base);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        rmSync(join(dir, name, '.test-results'), { recursive: true, force: true });
      }
    }
    let ok = true;
    const timings = [];
    for (const [name, step, extraEnv] of steps) {
      console.log(`\n=== ${name} ===`);
      const started = Date.now();
      const env = typeof extraEnv === 'function' ? extraEnv() : extraEnv;
      const saved = {};
      for (const [key, value] of Object.entries(env ?? {})) {
        saved[key] = process.env[key];
        process.env[key] = value;
      }
      const status = step();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      const seconds = Math.round((Date.now() - started) / 1000);
      timings.push(`${name} ${seconds}s`);
      if (status !== 0) {
        console.error(`=== ${name} FAILED ===`);
        ok = false;
      }
    }
    console.log(`\nsteps: ${timings.join(', ')}`);
    const { passed, failed, skipped, failures } = summarize();
    // The tail of a CI log is what gets read: name what failed right above the tally.
    if (failures.length > 0) console.log(`\nfailed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
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
