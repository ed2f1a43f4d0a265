import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { type RunResult, run, tscPath, typeRoots } from './processes';

/**
 * An empty folder in which a user installs our packages with plain npm from one registry, and
 * compiles and runs their own program against what npm put in node_modules.
 */
export class Consumer {
  readonly dir: string;
  readonly #env: NodeJS.ProcessEnv;

  /** `env` points npm at the registry (see the test kit's `VerdaccioHandle.env()`). */
  constructor(env: NodeJS.ProcessEnv, prefix = 'x-consumer-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.#env = env;
    writeFileSync(join(this.dir, 'package.json'), '{ "name": "x-consumer", "private": true }\n');
  }

  /** `npm install <specs...>`, as a user types it. */
  install(specs: string[], timeoutMs = 180_000): Promise<RunResult> {
    return run('npm', ['install', '--no-audit', '--no-fund', ...specs], {
      cwd: this.dir,
      env: this.#env,
      timeoutMs,
    });
  }

  /** `du -sk node_modules`. */
  async sizeKb(): Promise<number> {
    const result = await run('du', ['-sk', 'node_modules'], { cwd: this.dir, timeoutMs: 30_000 });
    return Number.parseInt(result.stdout, 10);
  }

  /** Every package in node_modules (nested copies too), as `name@version`. */
  installed(): Map<string, string[]> {
    const found = new Map<string, string[]>();
    const walk = (modules: string) => {
      if (!existsSync(modules)) return;
      for (const entry of readdirSync(modules)) {
        if (entry.startsWith('.')) continue;
        const dirs = entry.startsWith('@')
          ? readdirSync(join(modules, entry)).map((n) => join(modules, entry, n))
          : [join(modules, entry)];
        for (const dir of dirs) {
          const manifest = join(dir, 'package.json');
          if (!existsSync(manifest)) continue;
          const { name, version } = JSON.parse(readFileSync(manifest, 'utf8'));
          found.set(name, [...(found.get(name) ?? []), version]);
          walk(join(dir, 'node_modules'));
        }
      }
    };
    walk(join(this.dir, 'node_modules'));
    return found;
  }

  /** Version of an installed package (top level), or undefined. */
  versionOf(name: string): string | undefined {
    const manifest = join(this.dir, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return undefined;
    return JSON.parse(readFileSync(manifest, 'utf8')).version;
  }

  /** Writes a file of the consumer's own code. */
  write(file: string, text: string): string {
    const path = join(this.dir, file);
    writeFileSync(path, text);
    return path;
  }

  /**
   * Compiles `files` with `tsc` under the settings a strict Node user has: `strict`,
   * `module`/`moduleResolution` `nodenext` (`.mts` is ESM, `.cts` is CommonJS). With `emit`,
   * JavaScript goes to `out/` (nothing is emitted when there is an error).
   */
  async compile(
    files: string[],
    { skipLibCheck, emit, name = 'tsconfig.json' }: CompileOptions,
  ): Promise<CompileResult> {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: ['node'],
        // @types/node from the workspace: what a user adds with `npm i -D @types/node`.
        typeRoots: [typeRoots()],
        skipLibCheck,
        noEmit: !emit,
        noEmitOnError: true,
        outDir: 'out',
        rootDir: '.',
      },
      files,
    };
    writeFileSync(join(this.dir, name), JSON.stringify(tsconfig, null, 2));
    const result = await run(process.execPath, [tscPath(), '-p', name, '--pretty', 'false'], {
      cwd: this.dir,
      timeoutMs: 120_000,
    });
    return { result, diagnostics: parseDiagnostics(result.stdout, this.dir) };
  }

  /**
   * Runs a compiled program with `node` and judges it as a user would: it exits by itself with
   * status 0, or it is a server that answers `GET /` on `$PORT` with 200 (then it is stopped).
   */
  async runProgram(node: string, file: string, env: Record<string, string>, timeoutMs = 20_000) {
    return runProgram(node, join(this.dir, file), this.dir, env, timeoutMs);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options of {@link Consumer.compile}. */
export interface CompileOptions {
  skipLibCheck: boolean;
  emit: boolean;
  /** Name of the tsconfig file written for this compilation. */
  name?: string;
}

/** One error reported by tsc. */
export interface Diagnostic {
  /** Path relative to the consumer folder, e.g. `quick-start.mts`. */
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

/** What tsc said. */
export interface CompileResult {
  result: RunResult;
  diagnostics: Diagnostic[];
}

function parseDiagnostics(output: string, dir: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (match) {
      diagnostics.push({
        file: relative(dir, resolve(dir, match[1]!)),
        line: Number(match[2]),
        column: Number(match[3]),
        code: match[4]!,
        message: match[5]!,
      });
    } else if (line.startsWith(' ') && diagnostics.length > 0) {
      diagnostics.at(-1)!.message += `\n${line}`;
    } else if (/error TS\d+/.test(line)) {
      diagnostics.push({ file: '', line: 0, column: 0, code: 'TS', message: line });
    }
  }
  return diagnostics;
}

/** How a consumer program ended. */
export interface ProgramResult {
  /** `exited` (by itself), `served` (answered HTTP, then stopped), or `hung`. */
  outcome: 'exited' | 'served' | 'hung';
  exitCode: number | null;
  /** HTTP status of `GET /` for a server. */
  status?: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A loopback port nobody listens on. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolveOpen(true);
    });
    socket.once('error', () => resolveOpen(false));
  });
}

function httpGet(port: number): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5_000 }, (res) => {
      res.resume();
      res.once('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.once('error', reject);
    req.end();
  });
}

async function runProgram(
  node: string,
  file: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ProgramResult> {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new Error(`${file} does not exist: the program was not compiled`);
  }
  const port = await freeLoopbackPort();
  // The program sees only what a user's shell would give it: no REDIS_* or npm settings of ours.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(REDIS_|npm_|NODE_OPTIONS$|VITEST|TEST$)/i.test(name),
    ),
  );
  const started = Date.now();
  const child = spawn(node, [file], {
    cwd,
    env: { ...inherited, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let exitCode: number | null = null;
  let exited = false;
  const closed = new Promise<void>((resolveClosed) => {
    child.once('close', (code) => {
      exitCode = code;
      exited = true;
      resolveClosed();
    });
  });
  const result = (outcome: ProgramResult['outcome'], status?: number): ProgramResult => ({
    outcome,
    exitCode,
    ...(status === undefined ? {} : { status }),
    stdout,
    stderr,
    ms: Date.now() - started,
  });
  try {
    while (Date.now() - started < timeoutMs) {
      if (exited) return result('exited');
      if (await listening(port)) {
        const status = await httpGet(port);
        child.kill('SIGTERM');
        await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000))]);
        return result('served', status);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return result('hung');
  } finally {
    if (!exited) {
      child.kill('SIGKILL');
      await closed;
    }
  }
}
