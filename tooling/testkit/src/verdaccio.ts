// A real npm registry on loopback for release tests: Verdaccio in a child process, with a
// throwaway storage folder, a free port and the kit's watchdog (it never outlives the test run).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './_internal/ports';
import { type Stoppable, track, trackPid, untrack, untrackPid } from './_internal/registry';
import { sleep } from './_internal/wait';

const rootDir = fileURLToPath(new URL('../../..', import.meta.url));

/** Options for {@link startVerdaccio}. */
export interface StartVerdaccioOptions {
  /**
   * Scopes served only from this registry: anyone may publish them, and they are never proxied,
   * so nothing under these scopes can come from the public registry.
   * @default ['@x']
   */
  scopes?: string[];
  /**
   * Registry that every other package (ioredis, typescript, ...) is proxied from, or `false` for
   * none (the registry then serves only what was published to it).
   * @default the `npm_config_registry` of the environment, else https://registry.npmjs.org/
   */
  upstream?: string | false;
  /**
   * How long to wait for the registry to answer `/-/ping` after the start.
   * @default 30_000
   */
  startTimeoutMs?: number;
}

/** A running Verdaccio started by the test kit. */
export interface VerdaccioHandle {
  /** Registry URL with a trailing slash, e.g. `http://127.0.0.1:23456/`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The throwaway folder holding config, storage and log; removed by `stop()`. */
  readonly dir: string;
  /**
   * An npmrc file (for `npm_config_userconfig`) that points npm and pnpm at this registry, with
   * a token: npm refuses to publish without credentials even where the registry needs none.
   */
  readonly npmrc: string;
  /**
   * Environment for npm / pnpm / `changeset publish` child processes: this registry only, its
   * npmrc, and no inherited `npm_config_*` setting that could point elsewhere.
   */
  env(base?: NodeJS.ProcessEnv): Record<string, string>;
  /** The manifest document (packument) of a package as the registry serves it, or `undefined`. */
  packument(name: string): Promise<Record<string, unknown> | undefined>;
  /** The last lines of the registry log, for error messages. */
  logTail(lines?: number): string;
  /** SIGTERM (SIGKILL after 2 s), then removes the folder. Idempotent. */
  stop(): Promise<void>;
}

function verdaccioBin(): string {
  try {
    const pkgJson = createRequire(join(rootDir, 'package.json')).resolve('verdaccio/package.json');
    return join(dirname(pkgJson), 'bin', 'verdaccio');
  } catch {
    throw new Error(
      '[@x/testkit] verdaccio is not installed: add it at the workspace root with ' +
        '`pnpm add -Dw verdaccio@~6.8.0` (6.8.x runs on Node 20; 6.10 needs Node 22)',
    );
  }
}

function defaultUpstream(): string {
  const fromEnv = process.env.npm_config_registry;
  return fromEnv && /^https?:\/\//.test(fromEnv) ? fromEnv : 'https://registry.npmjs.org/';
}

function proxySettings(): Record<string, string> {
  const env = process.env;
  const settings: Record<string, string> = {};
  const http = env.http_proxy ?? env.HTTP_PROXY;
  const https = env.https_proxy ?? env.HTTPS_PROXY;
  const none = env.no_proxy ?? env.NO_PROXY;
  if (http) settings.http_proxy = http;
  if (https) settings.https_proxy = https;
  if (none) settings.no_proxy = none;
  return settings;
}

/** Verdaccio's YAML config (JSON is valid YAML, which spares a YAML writer). */
function config(dir: string, scopes: string[], upstream: string | false): string {
  const packages: Record<string, Record<string, string>> = {};
  for (const scope of scopes) {
    // No `proxy`: a name under our scope is served from storage or not at all.
    packages[`${scope}/*`] = { access: '$all', publish: '$all', unpublish: '$all' };
  }
  packages['**'] = {
    access: '$all',
    publish: '$authenticated',
    unpublish: '$authenticated',
    ...(upstream ? { proxy: 'upstream' } : {}),
  };
  return JSON.stringify(
    {
      storage: join(dir, 'storage'),
      web: { enable: false },
      auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: 1000 } },
      uplinks: upstream ? { upstream: { url: upstream, timeout: '60s', maxage: '30m' } } : {},
      // Verdaccio reads proxies from its config only; take the environment's, as npm does.
      ...proxySettings(),
      packages,
      server: { keepAliveTimeout: 60 },
      middlewares: { audit: { enabled: false } },
      max_body_size: '100mb',
      publish: { allow_offline: true },
      log: { type: 'file', path: join(dir, 'verdaccio.log'), format: 'json', level: 'warn' },
    },
    null,
    2,
  );
}

class Verdaccio implements VerdaccioHandle, Stoppable {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly npmrc: string;
  #child: ChildProcess;
  #exited: Promise<void>;
  #stopped = false;

  constructor(port: number, dir: string, child: ChildProcess, exited: Promise<void>) {
    this.port = port;
    this.dir = dir;
    this.url = `http://127.0.0.1:${port}/`;
    this.npmrc = join(dir, 'npmrc');
    this.#child = child;
    this.#exited = exited;
    writeFileSync(
      this.npmrc,
      [
        `registry=${this.url}`,
        `//127.0.0.1:${port}/:_authToken=x-release-check`,
        // The registry is on loopback and short-lived: fail fast instead of retrying for minutes.
        'fetch-retries=1',
        'fetch-retry-mintimeout=1000',
        'fetch-retry-maxtimeout=5000',
        'audit=false',
        'fund=false',
        'update-notifier=false',
        '',
      ].join('\n'),
    );
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  env(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(base)) {
      if (value === undefined || /^npm_config_/i.test(name)) continue;
      env[name] = value;
    }
    env.npm_config_registry = this.url;
    env.npm_config_userconfig = this.npmrc;
    return env;
  }

  async packument(name: string): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(`${this.url}${name.replace('/', '%2f')}`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`[@x/testkit] GET ${name} from the registry: ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  logTail(lines = 20): string {
    const file = join(this.dir, 'verdaccio.log');
    if (!existsSync(file)) return '(no log)';
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    untrack(this);
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function ping(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts Verdaccio on a free loopback port with a throwaway storage folder and waits until it
 * answers. Packages under `scopes` (default `@x`) can be published by anyone and are never
 * proxied; every other package is proxied from `upstream`. Stopped at the end of the test file.
 *
 * @example
 * const registry = await startVerdaccio();
 * execFileSync('pnpm', ['publish'], { env: registry.env() });
 * execFileSync('npm', ['install', '@x/lock', 'ioredis'], { env: registry.env() });
 */
export async function startVerdaccio(
  options: StartVerdaccioOptions = {},
): Promise<VerdaccioHandle> {
  const bin = verdaccioBin();
  const scopes = options.scopes ?? ['@x'];
  const upstream = options.upstream === undefined ? defaultUpstream() : options.upstream;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'x-verdaccio-'));
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, config(dir, scopes, upstream));
    const child = spawn(
      process.execPath,
      [bin, '--config', configFile, '--listen', `127.0.0.1:${port}`],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_ENV: 'production' },
      },
    );
    let output = '';
    const collect = (d: Buffer) => {
      if (output.length < 8192) output += d.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', () => {});
    let exited = false;
    const exitedPromise = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        if (child.pid) untrackPid(child.pid);
        resolve();
      });
    });
    if (child.pid) trackPid(child.pid);
    const handle = new Verdaccio(port, dir, child, exitedPromise);
    track(handle);
    const url = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + startTimeoutMs;
    let failure: string | undefined;
    for (;;) {
      if (await ping(url)) return handle;
      if (exited) {
        failure = `exited during start-up:\n${output}${handle.logTail()}`;
        break;
      }
      if (Date.now() > deadline) {
        failure = `not answering /-/ping after ${startTimeoutMs} ms:\n${output}${handle.logTail()}`;
        break;
      }
      await sleep(50);
    }
    await handle.stop();
    const inUse = /EADDRINUSE/.test(failure);
    if (!inUse || attempt >= 5) {
      throw new Error(`[@x/testkit] verdaccio on 127.0.0.1:${port} ${failure}`);
    }
  }
}
