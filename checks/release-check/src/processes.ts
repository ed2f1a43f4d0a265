import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { rootDir } from './workspace';

/** How a child process ended, and what it printed. */
export interface RunResult {
  command: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long. @default 120_000 */
  timeoutMs?: number;
}

const MAX_OUTPUT = 4 * 1024 * 1024;

/** Runs a command to its end (bounded by `timeoutMs`), capturing its output. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        command: [command, ...args].join(' '),
        exitCode,
        signal,
        stdout,
        stderr,
        ms: Date.now() - started,
        timedOut,
      });
    });
  });
}

/** A one-paragraph account of a finished command, for assertion messages. */
export function describeRun(result: RunResult): string {
  const end = result.timedOut
    ? `killed after ${result.ms} ms (timeout)`
    : `exit ${result.exitCode ?? result.signal}`;
  const tail = (text: string) => text.trim().split('\n').slice(-40).join('\n');
  return `$ ${result.command}\n${end}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`;
}

/** The pnpm of `packageManager` (on PATH if it is that version, else through npx). */
export function pnpmCommand(): [string, string[]] {
  const pkg = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8'));
  const version = String(pkg.packageManager).replace(/^pnpm@/, '');
  try {
    const found = execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: 'pipe' }).trim();
    if (found === version) return ['pnpm', []];
  } catch {}
  return ['npx', ['--yes', `pnpm@${version}`]];
}

/** The workspace's TypeScript compiler (`tsc`), run with the current Node. */
export function tscPath(): string {
  return createRequire(join(rootDir, 'package.json')).resolve('typescript/bin/tsc');
}

/** Folder of the workspace's `@types` (for `@types/node` in consumer folders). */
export function typeRoots(): string {
  const nodeTypes = createRequire(join(rootDir, 'package.json')).resolve(
    '@types/node/package.json',
  );
  return dirname(dirname(nodeTypes));
}

/** A Node.js binary the consumer programs run on. */
export interface NodeBinary {
  path: string;
  version: string;
}

/**
 * The Node versions to run consumer programs on: the one running the tests, then every binary
 * in `X_NODE_BINARIES` (paths separated by `:`, as `scripts/run.mjs` sets it for Node 22 and 24).
 */
export function nodeBinaries(): NodeBinary[] {
  const extra = (process.env.X_NODE_BINARIES ?? '').split(':').filter(Boolean);
  const all: NodeBinary[] = [{ path: process.execPath, version: process.version }];
  for (const path of extra) {
    if (!existsSync(path)) throw new Error(`X_NODE_BINARIES names ${path}, which does not exist`);
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    if (!all.some((n) => n.version === version)) all.push({ path, version });
  }
  return all;
}
