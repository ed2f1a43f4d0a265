import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  type NodeProcess,
  type ProgramResult,
  runNode,
  startNode,
  TSX,
  tscBin,
  withTempFiles,
} from './_internal/node-program';
import { freePort } from './_internal/ports';
import { sleep } from './_internal/wait';

/** What a finished example printed, and how it ended. */
export type ExampleResult = ProgramResult;

/** A started example: its live output, and a graceful stop. */
export interface RunningExample {
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved in the order they arrived. */
  output(): string;
  /** SIGTERM, then the exit code (`null` after a signal); SIGKILL if it is still there after 5 s. */
  stop(): Promise<number | null>;
}

/** A started example that listens on the loopback `port` it was given in `PORT`. */
export interface ListeningExample extends RunningExample {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

/** A README program (a section's code, or code built from it), ready to run or type-check as a user would. */
export interface ReadmeExample {
  /** The program: the fenced `ts` blocks of its README section, joined in order. */
  readonly code: string;
  /**
   * Runs the program with tsx from the repository root, to its end; killed after `timeoutMs`
   * (exit code `null`).
   * @default timeoutMs 15_000
   */
  run(env: Record<string, string>, timeoutMs?: number): Promise<ExampleResult>;
  /**
   * Type-checks the program with the repository's strict compiler settings.
   * @default timeoutMs 40_000
   */
  typecheck(timeoutMs?: number): Promise<ExampleResult>;
  /**
   * Starts the program (a server that does not exit by itself), hands it to `use`, then kills it
   * (SIGKILL) if `use` did not stop it.
   */
  whileRunning<T>(
    env: Record<string, string>,
    use: (program: RunningExample) => Promise<T>,
  ): Promise<T>;
  /**
   * Like {@link ReadmeExample.whileRunning} for an HTTP server: picks a free loopback port, passes
   * it in `PORT`, and calls `use` once the port accepts a TCP connection (no request is sent, so
   * nothing is counted by the program). A failure of `use` carries the program's output.
   * @default options.timeoutMs 15_000 (to start listening)
   */
  whileListening<T>(
    env: Record<string, string>,
    use: (program: ListeningExample) => Promise<T>,
    options?: { timeoutMs?: number },
  ): Promise<T>;
}

/**
 * The fenced `ts` blocks of the section of the README in `packageDir` headed `title` (at any
 * heading level: the section runs to the next heading of the same or a higher level), joined.
 * Throws when there is no such section, or no ts block in it.
 */
export function readmeSection(packageDir: string, title: string): string {
  const lines = readFileSync(join(packageDir, 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex(
    (line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, '') === title,
  );
  if (start === -1) throw new Error(`README.md has no "${title}" section`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  let end = start + 1;
  while (end < lines.length && !new RegExp(`^#{1,${level}} `).test(lines[end]!)) end++;
  const section = `${lines.slice(start + 1, end).join('\n')}\n`;
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  if (blocks.length === 0) throw new Error(`the "${title}" section has no ts block`);
  return blocks.join('\n');
}

/**
 * The program of a README section of the package in `packageDir` (by default its quick start), so
 * a test can prove it runs and type-checks as written.
 *
 * @example
 * const example = readmeExample(fileURLToPath(new URL('..', import.meta.url)));
 * const result = await example.run({ REDIS_URL: redis.url });
 * expect(result.exitCode, result.stderr).toBe(0);
 * @example
 * await readmeExample(packageDir, 'Use with Express').whileListening({ REDIS_URL: redis.url },
 *   async (app) => expect((await fetch(app.url)).status).toBe(200));
 */
export function readmeExample(packageDir: string, section = 'Quick start'): ReadmeExample {
  return exampleProgram(packageDir, readmeSection(packageDir, section), section);
}

/** A file name for a program: `Quick start` → `quick-start.ts`. */
function fileName(name: string): string {
  const base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${base || 'example'}.ts`;
}

/**
 * Any program, written to a temporary file inside the package in `packageDir` (so it resolves the
 * package and its dependencies as a user's file would), with what {@link readmeExample} offers:
 * for a README section with code around it, e.g. the declarations a fragment assumes.
 * @default name 'example'
 */
export function exampleProgram(packageDir: string, code: string, name = 'example'): ReadmeExample {
  const file = fileName(name);
  const inFolder = <T>(use: (path: string, dir: string) => Promise<T>): Promise<T> =>
    withTempFiles(packageDir, { [file]: code }, (dir) => use(join(dir, file), dir));
  const whileRunning = <T>(
    env: Record<string, string>,
    use: (program: NodeProcess & RunningExample) => Promise<T>,
  ): Promise<T> =>
    inFolder(async (path) => {
      const run = startNode([...TSX, path], env);
      try {
        return await use({ ...run, stop: () => stop(run) });
      } finally {
        run.child.kill('SIGKILL');
        await run.exited;
      }
    });
  return {
    code,
    run: (env, timeoutMs = 15_000) => inFolder((path) => runNode([...TSX, path], env, timeoutMs)),
    typecheck: (timeoutMs = 40_000) => typecheckPrograms(packageDir, [code], timeoutMs, [file]),
    whileRunning: (env, use) => whileRunning(env, use),
    whileListening: async (env, use, { timeoutMs = 15_000 } = {}) => {
      const port = await freePort();
      return whileRunning({ ...env, PORT: String(port) }, async (run) => {
        try {
          await untilListening(run, port, timeoutMs);
          return await use({ ...run, port, url: `http://127.0.0.1:${port}` });
        } catch (error) {
          throw new Error(`${(error as Error).message}\nprogram output:\n${run.output()}`, {
            cause: error,
          });
        }
      });
    },
  };
}

/**
 * Type-checks `codes`, each its own file, in one compiler run (tsc takes seconds on a loaded
 * machine), with the repository's strict settings, from a temporary folder inside `packageDir`.
 * @default timeoutMs 40_000
 */
export function typecheckPrograms(
  packageDir: string,
  codes: string[],
  timeoutMs = 40_000,
  names: string[] = codes.map((_, i) => `program-${i}.ts`),
): Promise<ExampleResult> {
  const files = Object.fromEntries(codes.map((code, i) => [names[i]!, code]));
  return withTempFiles(packageDir, files, (dir) =>
    runNode([tscBin, '-p', join(dir, 'tsconfig.json')], {}, timeoutMs),
  );
}

/**
 * Type-checks the programs of the README sections `titles` of the package in `packageDir`, each
 * its own file, in one compiler run.
 * @default timeoutMs 40_000
 */
export function typecheckSections(
  packageDir: string,
  titles: string[],
  timeoutMs = 40_000,
): Promise<ExampleResult> {
  return typecheckPrograms(
    packageDir,
    titles.map((title) => readmeSection(packageDir, title)),
    timeoutMs,
    titles.map(fileName),
  );
}

async function stop(run: NodeProcess): Promise<number | null> {
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 5_000);
  const code = await run.exited;
  clearTimeout(timer);
  return code;
}

async function untilListening(run: NodeProcess, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`[@x/testkit] the program exited (${run.child.exitCode}) before listening`);
    }
    if (Date.now() > deadline) {
      throw new Error(`[@x/testkit] the program did not listen on ${port} within ${timeoutMs} ms`);
    }
    await sleep(25);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
