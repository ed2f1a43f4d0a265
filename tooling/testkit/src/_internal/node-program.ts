import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: programs run from there, and its tsconfig is the one they extend. */
export const rootDir = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));

/** The repository's TypeScript compiler. */
export const tscBin = join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc');

/** Node arguments that run a TypeScript file, resolving workspace packages to their source. */
export const TSX = ['--import', 'tsx', '--conditions=@x/source'];

/** What a finished program printed, and how it ended. */
export interface ProgramResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in the order they arrived. */
  output: string;
}

/** A started Node process with its output so far. */
export interface NodeProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  output(): string;
  /** Settles with the exit code once the process is gone (`null` after a signal). */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `node <args>` from the repository root. The program sees only the environment a user's
 * process would: none of the caller's `REDIS_*` settings and no `NODE_PATH` (which pnpm sets for
 * the test runner, and which would resolve packages a user does not have).
 */
export function startNode(
  args: string[],
  env: Record<string, string>,
  cwd: string = rootDir,
  stdin: 'ignore' | 'pipe' = 'ignore',
): NodeProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('REDIS_') && name !== 'NODE_PATH',
    ),
  );
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...inherited, ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => {
    child.once('error', () => done(null));
    child.once('close', (code) => done(code));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, output: () => output, exited };
}

/** Runs `node <args>` to its end; SIGKILLed after `timeoutMs` (exit code `null`). */
export async function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  cwd?: string,
): Promise<ProgramResult> {
  const run = startNode(args, env, cwd);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const exitCode = await run.exited;
  clearTimeout(timer);
  return { exitCode, stdout: run.stdout(), stderr: run.stderr(), output: run.output() };
}

/**
 * Writes `files` (name → content) into a temporary folder inside `packageDir`, so the package
 * and its dependencies resolve as they would for a user's file, with a `tsconfig.json` made of
 * `compilerOptions` (by default: the repository's, extended); the folder is removed after `use`.
 */
export async function withTempFiles<T>(
  packageDir: string,
  files: Record<string, string>,
  use: (dir: string) => Promise<T>,
  tsconfig: Record<string, unknown> = { extends: join(rootDir, 'tsconfig.base.json') },
): Promise<T> {
  const dir = mkdtempSync(join(packageDir, '.readme-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ ...tsconfig, include: Object.keys(files) }),
    );
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
