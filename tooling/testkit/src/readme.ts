import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const rootDir = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** What a finished example printed, and how it ended. */
export interface ExampleResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** A README's quick start, ready to run or type-check as a user would. */
export interface ReadmeExample {
  /** The fenced `ts` blocks of the "Quick start" section, joined in order. */
  readonly code: string;
  /** Runs the example with tsx from the repository root; killed after `timeoutMs`. */
  run(env: Record<string, string>, timeoutMs?: number): Promise<ExampleResult>;
  /** Type-checks the example with the repository's strict compiler settings. */
  typecheck(): Promise<ExampleResult>;
  /**
   * Starts the example (a server that does not exit by itself), hands its live output to `use`,
   * then kills it.
   */
  whileRunning<T>(
    env: Record<string, string>,
    use: (output: { stdout: () => string; stderr: () => string }) => Promise<T>,
  ): Promise<T>;
}

function quickStart(packageDir: string): string {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Quick start\n'));
  if (section === undefined) throw new Error('README.md has no "## Quick start" section');
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  if (blocks.length === 0) throw new Error('the Quick start section has no ts block');
  return blocks.join('\n');
}

/**
 * Writes `code` to a temporary folder inside the package (so the package and its dependencies
 * resolve as they would for a user), with a tsconfig extending the repository's.
 */
async function withExampleFile<T>(
  packageDir: string,
  code: string,
  use: (file: string, dir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(packageDir, '.readme-'));
  const file = join(dir, 'quick-start.ts');
  writeFileSync(file, code);
  const tsconfig = { extends: join(rootDir, 'tsconfig.base.json'), include: ['quick-start.ts'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  try {
    return await use(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startNode(args: string[], env: Record<string, string>) {
  // The example must see only the Redis it is given, never the caller's REDIS_* settings.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('REDIS_')),
  );
  const child = spawn(process.execPath, args, {
    cwd: rootDir,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return { child, output };
}

function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ExampleResult> {
  const { child, output } = startNode(args, env);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolvePromise({ exitCode, ...output });
    });
  });
}

const TSX = ['--import', 'tsx', '--conditions=@x/source'];

/**
 * The quick start of the README in `packageDir`, so a test can prove it runs as written.
 *
 * @example
 * const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));
 * const result = await example.run({ REDIS_URL: redis.url });
 * expect(result.exitCode, result.stderr).toBe(0);
 */
export function readmeExample(packageDir: string): ReadmeExample {
  const code = quickStart(packageDir);
  return {
    code,
    run: (env, timeoutMs = 15_000) =>
      withExampleFile(packageDir, code, (file) => runNode([...TSX, file], env, timeoutMs)),
    typecheck: () =>
      withExampleFile(packageDir, code, (_file, dir) =>
        runNode(
          [
            join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc'),
            '-p',
            join(dir, 'tsconfig.json'),
          ],
          {},
          40_000,
        ),
      ),
    whileRunning: (env, use) =>
      withExampleFile(packageDir, code, async (file) => {
        const { child, output } = startNode([...TSX, file], env);
        const exited = new Promise<void>((resolvePromise) =>
          child.once('close', () => resolvePromise()),
        );
        try {
          return await use({ stdout: () => output.stdout, stderr: () => output.stderr });
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
      }),
  };
}
