// The release round trip, end to end, as maintainers and users meet it (DESIGN.md section 7):
// `pnpm version-packages` and `pnpm release` in a throwaway copy of the repository, publishing
// to a real registry on loopback (Verdaccio, from the test kit); then, for every published
// package, an empty folder where plain npm installs that package alone (plus ioredis) from that
// registry, and the package's README quick start is compiled with a strict `tsc` and run as ESM
// and as CommonJS, on every Node version given. Last, every TypeScript block of every README is
// type-checked as a user's module with ioredis 5 and 6.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis, startVerdaccio, type VerdaccioHandle } from '@x/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingChangesets } from './changesets';
import { toCommonJsProgram } from './commonjs';
import { Consumer, type Diagnostic, type ProgramResult } from './consumer';
import { importedPackages, typesPackageOf, workspaceRange } from './externals';
import { describeRun, nodeBinaries, pnpmCommand, type RunResult, run } from './processes';
import { quickStart, type ReadmeBlock, typeScriptBlocks } from './readme-blocks';
import { copyRepository } from './repo-copy';
import {
  allExternalDependencies,
  externalDependencyClosure,
  privateNames,
  publishedPackages,
  rootDir,
  workspacePackages,
} from './workspace';

const resultsDir = fileURLToPath(new URL('../.test-results', import.meta.url));
const source = process.env.X_RELEASE_SOURCE === 'HEAD' ? 'HEAD' : 'worktree';
/** True when the last commit has this file (for `X_RELEASE_SOURCE=HEAD`). */
function committed(path: string): boolean {
  try {
    execFileSync('git', ['cat-file', '-e', `HEAD:${path}`], { cwd: rootDir, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const packages = publishedPackages().filter(
  (p) => source === 'worktree' || committed(`${p.path}/package.json`),
);
const nodes = nodeBinaries();

/** A file of the source being released (the work tree, or the last commit). */
function readSource(path: string): string {
  if (source === 'HEAD') {
    return execFileSync('git', ['show', `HEAD:${path}`], { cwd: rootDir, encoding: 'utf8' });
  }
  return readFileSync(join(rootDir, path), 'utf8');
}
const [pnpm, pnpmPre] = pnpmCommand();

let registry: VerdaccioHandle;
let redis: RedisHandle;
let copy: string;
const consumers: Consumer[] = [];
/** Package name → the version `pnpm release` published. */
const released = new Map<string, string>();
const sizes: { name: string; kb: number; packages: number; x: string[] }[] = [];
const log: string[] = [];

function note(line: string): void {
  log.push(line);
  console.log(line);
}

function inCopy(args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run(pnpm, [...pnpmPre, ...args], {
    cwd: copy,
    env: { ...(env ?? process.env), CI: 'true', TURBO_TELEMETRY_DISABLED: '1' },
    timeoutMs,
  });
}

function requireReleased(name: string): string {
  const version = released.get(name);
  if (!version) throw new Error(`${name} was not published by the release step (see its failure)`);
  return version;
}

beforeAll(async () => {
  [registry, redis] = await Promise.all([startVerdaccio(), startRedis()]);
  copy = copyRepository(source);
  mkdirSync(resultsDir, { recursive: true });
}, 120_000);

afterAll(() => {
  const table = [
    '| package | node_modules (du -sk) | packages installed | @x packages |',
    '| --- | ---: | ---: | --- |',
    ...sizes.map((s) => `| ${s.name} | ${s.kb} KB | ${s.packages} | ${s.x.join(', ')} |`),
  ].join('\n');
  if (sizes.length > 0) {
    console.log(
      `\nInstall sizes: \`npm install <package> ioredis\` in an empty folder\n${table}\n`,
    );
  }
  if (existsSync(resultsDir)) {
    writeFileSync(join(resultsDir, 'install-sizes.md'), `${table}\n`);
    writeFileSync(join(resultsDir, 'release-check.log'), `${log.join('\n')}\n`);
  }
  for (const consumer of consumers) consumer.remove();
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('release: pnpm version-packages and pnpm release to a loopback registry', () => {
  it('finds the published packages in packages/* (every package.json without "private": true)', () => {
    expect(packages.length).toBeGreaterThan(0);
    for (const pkg of packages) expect(pkg.name).toMatch(/^@x\//);
    note(`release check (${source}): ${packages.map((p) => p.name).join(', ')}`);
  });

  it('the copy of the repository installs from the pnpm store', async () => {
    const result = await inCopy(
      ['install', '--prefer-offline', '--frozen-lockfile=false'],
      240_000,
    );
    expect(result.exitCode, describeRun(result)).toBe(0);
    note(`pnpm install in the copy: ${result.ms} ms`);
  }, 300_000);

  it('pnpm version-packages applies every pending changeset: versions and CHANGELOG.md', async () => {
    const pending = pendingChangesets(copy);
    const before = new Map(publishedPackages(copy).map((p) => [p.name, p.version]));
    const result = await inCopy(['version-packages'], 120_000);
    expect(result.exitCode, describeRun(result)).toBe(0);
    const after = new Map(publishedPackages(copy).map((p) => [p.name, p.version]));
    expect(pendingChangesets(copy)).toEqual([]);
    for (const changeset of pending) {
      for (const name of Object.keys(changeset.releases)) {
        const pkg = publishedPackages(copy).find((p) => p.name === name);
        expect(
          pkg,
          `changeset ${changeset.id} names ${name}, not a published package`,
        ).toBeDefined();
        expect(after.get(name)).not.toBe(before.get(name));
        const changelog = readFileSync(join(copy, pkg!.path, 'CHANGELOG.md'), 'utf8');
        expect(changelog).toContain(`## ${after.get(name)}`);
        expect(changelog).toContain(changeset.summary.split('\n')[0]);
      }
    }
    const bumped = [...after].filter(([name, v]) => before.get(name) !== v);
    note(
      `version-packages: ${pending.length} changesets; ${bumped.map(([n, v]) => `${n} ${before.get(n)} -> ${v}`).join(', ') || 'nothing to bump'}`,
    );
  }, 180_000);

  it('pnpm release builds every package and publishes it to the registry', async () => {
    const env = registry.env({
      ...process.env,
      // Builds the copy did not change come from the checkout's turbo cache.
      TURBO_CACHE_DIR: join(rootDir, '.turbo', 'cache'),
    });
    const result = await inCopy(['release'], 400_000, env);
    writeFileSync(join(resultsDir, 'release.log'), `${result.stdout}\n${result.stderr}`);
    const publishLines = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((line) => line.includes('🦋'))
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
      .map((line) => line.replace(/\u001b\[\d+m/g, ''));
    note(`pnpm release (${result.ms} ms), changeset publish said:\n${publishLines.join('\n')}`);
    expect(result.exitCode, describeRun(result)).toBe(0);
    for (const pkg of publishedPackages(copy)) {
      const doc = await registry.packument(pkg.name);
      expect(doc, `${pkg.name} is not in the registry`).toBeDefined();
      expect(Object.keys(doc!.versions as object)).toContain(pkg.version);
      released.set(pkg.name, pkg.version);
    }
    expect([...released.keys()].sort()).toEqual(packages.map((p) => p.name).sort());
  }, 600_000);

  it('published manifests name no private workspace package, no workspace: range, no source condition', async () => {
    const forbidden = privateNames();
    for (const pkg of packages) {
      const version = requireReleased(pkg.name);
      const doc = await registry.packument(pkg.name);
      const manifest = (doc!.versions as Record<string, Record<string, any>>)[version]!;
      const text = JSON.stringify(manifest);
      for (const name of forbidden) {
        expect(text, `${pkg.name} mentions the private package ${name}`).not.toContain(`"${name}"`);
      }
      expect(text).not.toContain('workspace:');
      expect(text).not.toContain('@x/source');
      expect(manifest.devDependencies, `${pkg.name} publishes devDependencies`).toBeUndefined();
      expect(manifest.license).toBe('MIT');
    }
  });
});

/** Judges a consumer program run; returns a message for a failed assertion. */
function verdict(what: string, result: ProgramResult): string {
  return `${what}: ${result.outcome}, exit ${result.exitCode}, status ${result.status ?? '-'}, ${result.ms} ms\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function expectSucceeded(what: string, result: ProgramResult): void {
  const message = verdict(what, result);
  expect(result.outcome, message).not.toBe('hung');
  if (result.outcome === 'exited') expect(result.exitCode, message).toBe(0);
  else expect(result.status, message).toBe(200);
  // A quick start that logs an error or an unhandled rejection did not really work.
  expect(result.stderr, message).not.toMatch(/\b(Error|Unhandled|ERR_)\b/);
}

const wrappedLibraries = allExternalDependencies();
const allPackages = workspacePackages();
const rootManifest = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8'));

for (const pkg of packages) {
  describe(`${pkg.name}: installed alone from the registry, as a user does`, () => {
    let consumer: Consumer | undefined;
    let compiled = false;
    it(`npm install ${pkg.name} ioredis (latest): only what it needs, with a LICENSE`, async () => {
      requireReleased(pkg.name);
      consumer = new Consumer(registry.env(), `x-consumer-${pkg.name.split('/')[1]}-`);
      consumers.push(consumer);
      const result = await consumer.install([pkg.name, 'ioredis']);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expect(consumer.versionOf(pkg.name)).toBe(released.get(pkg.name));
      const installed = consumer.installed();
      const kb = await consumer.sizeKb();
      const x = [...installed.keys()].filter((n) => n.startsWith('@x/')).sort();
      sizes.push({ name: pkg.name, kb, packages: installed.size, x });
      note(
        `${pkg.name}: node_modules ${kb} KB, ${installed.size} packages (${[...installed.keys()].sort().join(', ')})`,
      );
      // A third-party library that another package wraps comes only with the packages that need it
      // (installing @x/lock must not bring lru-cache).
      const needed = externalDependencyClosure(pkg.name);
      const ioredisDeps = new Set(
        Object.keys(
          JSON.parse(readFileSync(join(consumer.dir, 'node_modules/ioredis/package.json'), 'utf8'))
            .dependencies ?? {},
        ),
      );
      for (const lib of wrappedLibraries) {
        if (needed.has(lib) || ioredisDeps.has(lib)) continue;
        expect(installed.has(lib), `${pkg.name} pulled in ${lib}`).toBe(false);
      }
      for (const name of x) {
        const license = join(consumer.dir, 'node_modules', name, 'LICENSE');
        expect(existsSync(license), `${name} has no LICENSE`).toBe(true);
        expect(readFileSync(license, 'utf8')).toMatch(/^MIT License/);
      }
    });

    it('its README quick start compiles as ESM (.mts) and CommonJS (.cts): tsc --strict, module nodenext', async () => {
      if (!consumer) throw new Error('not installed (see the install test)');
      // The README as published, from the installed package.
      const published = readFileSync(
        join(consumer.dir, 'node_modules', pkg.name, 'README.md'),
        'utf8',
      );
      const program = quickStart(published);
      // What npm serves is the README of the released source.
      const released = readFileSync(join(copy, pkg.path, 'README.md'), 'utf8');
      expect(program.code).toBe(quickStart(released).code);
      // What else the quick start imports (an OpenTelemetry SDK, another x package) is installed
      // the way its README says, after the size of the package alone was measured.
      const ours = new Set(packages.map((p) => p.name));
      const extra = importedPackages(program.code)
        .filter((name) => name !== pkg.name && name !== 'ioredis' && !consumer!.versionOf(name))
        .map((name) =>
          ours.has(name) ? name : `${name}@${workspaceRange(name, allPackages, rootManifest)}`,
        );
      if (extra.length > 0) {
        const added = await consumer.install(extra);
        expect(added.exitCode, describeRun(added)).toBe(0);
        note(`${pkg.name}: the quick start also imports ${extra.join(', ')}`);
      }
      consumer.write('quick-start.mts', program.code);
      consumer.write('quick-start.cts', toCommonJsProgram(program.code));
      // ioredis 6's own .d.ts need skipLibCheck (see the caveat test below and the READMEs).
      const { result, diagnostics } = await consumer.compile(
        ['quick-start.mts', 'quick-start.cts'],
        {
          skipLibCheck: true,
          emit: true,
        },
      );
      expect(diagnostics, describeRun(result)).toEqual([]);
      expect(result.exitCode, describeRun(result)).toBe(0);
      compiled = true;
    });

    for (const node of nodes) {
      for (const format of ['esm', 'cjs'] as const) {
        it(`its README quick start runs as ${format === 'esm' ? 'ESM' : 'CommonJS'} on Node ${node.version} (ioredis 6)`, async () => {
          if (!consumer || !compiled) throw new Error('not compiled (see the compile test)');
          const file = format === 'esm' ? 'out/quick-start.mjs' : 'out/quick-start.cjs';
          const result = await consumer.runProgram(node.path, file, { REDIS_URL: redis.url });
          expectSucceeded(`${pkg.name} ${format} on Node ${node.version}`, result);
        });
      }
    }

    it('its README quick start runs as ESM and CommonJS with ioredis 5 too', async () => {
      if (!consumer || !compiled) throw new Error('not compiled (see the compile test)');
      const result = await consumer.install(['ioredis@^5']);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expect(consumer.versionOf('ioredis')).toMatch(/^5\./);
      for (const file of ['out/quick-start.mjs', 'out/quick-start.cjs']) {
        const ran = await consumer.runProgram(process.execPath, file, { REDIS_URL: redis.url });
        expectSucceeded(`${pkg.name} ${file} on ioredis 5`, ran);
      }
    });
  });
}

describe("every TypeScript block of every README, compiled as a user's module", () => {
  const all = workspacePackages();
  const rootManifest = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8'));
  const blocks: { pkg: string; path: string; block: ReadmeBlock; file: string; offset: number }[] =
    [];
  for (const pkg of packages) {
    const readme = readSource(`${pkg.path}/README.md`);
    for (const block of typeScriptBlocks(readme)) {
      const file = `blocks/${pkg.name.split('/')[1]}-${block.line}.mts`;
      blocks.push({
        pkg: pkg.name,
        path: `${pkg.path}/README.md`,
        block,
        file,
        offset: block.prelude === undefined ? 0 : block.prelude.split('\n').length,
      });
    }
  }
  let consumer: Consumer | undefined;
  const diagnostics = new Map<string, Diagnostic[]>();

  function compileAll(key: string, skipLibCheck: boolean) {
    return async () => {
      if (!consumer) throw new Error('not installed (see the install test)');
      const { result, diagnostics: found } = await consumer.compile(
        blocks.map((b) => b.file),
        { skipLibCheck, emit: false, name: `tsconfig.${key}.json` },
      );
      diagnostics.set(key, found);
      // Every error must belong to a block (each block has its own test below).
      const stray = found.filter((d) => !blocks.some((b) => b.file === d.file));
      expect(stray, describeRun(result)).toEqual([]);
    };
  }

  it('npm install every package, ioredis 5, and what the blocks import', async () => {
    for (const pkg of packages) requireReleased(pkg.name);
    consumer = new Consumer(registry.env(), 'x-consumer-readme-');
    consumers.push(consumer);
    mkdirSync(join(consumer.dir, 'blocks'), { recursive: true });
    for (const b of blocks) {
      consumer.write(
        b.file,
        `${b.block.prelude === undefined ? '' : `${b.block.prelude}\n`}${b.block.code}`,
      );
    }
    const ours = new Set(packages.map((p) => p.name));
    const external = new Set<string>();
    for (const b of blocks) {
      for (const name of importedPackages(`${b.block.prelude ?? ''}\n${b.block.code}`)) {
        if (!ours.has(name) && name !== 'ioredis') external.add(name);
      }
    }
    const specs = [
      ...packages.map((p) => p.name),
      'ioredis@^5',
      ...[...external].map((n) => `${n}@${workspaceRange(n, all, rootManifest)}`),
    ];
    const result = await consumer.install(specs);
    expect(result.exitCode, describeRun(result)).toBe(0);
    // Packages without their own types get their @types package, as a TypeScript user does.
    const types: string[] = [];
    for (const name of external) {
      const manifest = JSON.parse(
        readFileSync(join(consumer.dir, 'node_modules', name, 'package.json'), 'utf8'),
      );
      const typed =
        manifest.types ||
        manifest.typings ||
        existsSync(join(consumer.dir, 'node_modules', name, 'index.d.ts'));
      if (!typed) {
        const typesName = typesPackageOf(name);
        types.push(`${typesName}@${workspaceRange(typesName, all, rootManifest)}`);
      }
    }
    if (types.length > 0) {
      const typed = await consumer.install(types);
      expect(typed.exitCode, describeRun(typed)).toBe(0);
    }
    note(
      `README blocks: ${blocks.length} to type-check; installed ${[...specs, ...types].join(' ')}`,
    );
  }, 300_000);

  it('tsc with ioredis 5 (skipLibCheck false)', compileAll('ioredis5', false));
  for (const b of blocks) {
    it(`${b.path}:${b.block.line} (${b.block.section}) type-checks with ioredis 5`, () => {
      const found = diagnostics.get('ioredis5');
      if (!found) throw new Error('not compiled (see the tsc test)');
      const mine = found.filter((d) => d.file === b.file);
      expect(
        mine.map(
          (d) => `${b.path}:${b.block.line + d.line - 1 - b.offset}: ${d.code} ${d.message}`,
        ),
      ).toEqual([]);
    });
  }

  it('tsc with ioredis 6 (latest, skipLibCheck true)', async () => {
    if (!consumer) throw new Error('not installed (see the install test)');
    const result = await consumer.install(['ioredis@latest']);
    expect(result.exitCode, describeRun(result)).toBe(0);
    expect(consumer.versionOf('ioredis')).toMatch(/^6\./);
    await compileAll('ioredis6', true)();
  });
  for (const b of blocks) {
    it(`${b.path}:${b.block.line} (${b.block.section}) type-checks with ioredis 6`, () => {
      const found = diagnostics.get('ioredis6');
      if (!found) throw new Error('not compiled (see the tsc test)');
      const mine = found.filter((d) => d.file === b.file);
      expect(
        mine.map(
          (d) => `${b.path}:${b.block.line + d.line - 1 - b.offset}: ${d.code} ${d.message}`,
        ),
      ).toEqual([]);
    });
  }

  it("ioredis 6 without skipLibCheck: the only errors are in ioredis' own .d.ts (the documented caveat)", async () => {
    if (!consumer) throw new Error('not installed (see the install test)');
    const { result, diagnostics: found } = await consumer.compile(
      blocks.map((b) => b.file),
      { skipLibCheck: false, emit: false, name: 'tsconfig.ioredis6-libcheck.json' },
    );
    // Errors of the blocks themselves are reported by the tests above.
    const blockFiles = new Set(blocks.map((b) => b.file));
    const libraries = found.filter((d) => !blockFiles.has(d.file));
    const elsewhere = libraries.filter((d) => !d.file.startsWith('node_modules/ioredis/'));
    expect(elsewhere, describeRun(result)).toEqual([]);
    note(
      libraries.length === 0
        ? `ioredis ${consumer.versionOf('ioredis')}: strict without skipLibCheck is clean (the caveat no longer applies)`
        : `ioredis ${consumer.versionOf('ioredis')}: strict without skipLibCheck reports ${libraries.length} errors, all inside ioredis' .d.ts: ${[...new Set(libraries.map((d) => `${d.code} ${d.message.split('\n')[0]}`))].join('; ')}`,
    );
  });
});
