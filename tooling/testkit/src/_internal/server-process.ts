import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisHandle, TlsFiles } from '../types';
import { redisServerBin } from './binaries';
import { freePort } from './ports';
import { type Stoppable, track, trackPid, untrack, untrackPid } from './registry';
import { sleep } from './wait';

/** How to launch one redis-server process (plain, cluster node or sentinel). */
export interface ProcessSpec {
  /** Fixed port, or undefined for a free random one. */
  port?: number;
  /** Also require port + 10000 to be free (Cluster bus). */
  needsBusPort?: boolean;
  /** Arguments for a given port and working directory (config files may be written there). */
  args(port: number, dir: string, logfile: string): string[];
  /** URL for a given port. */
  url(port: number): string;
  tls?: TlsFiles;
  /** Log line that says the process is ready. */
  ready: RegExp;
}

function logTail(logfile: string): string {
  if (!existsSync(logfile)) return '(no log)';
  return readFileSync(logfile, 'utf8').trim().split('\n').slice(-8).join('\n');
}

/** A redis-server (or sentinel) child process with fault controls. */
export class ServerProcess implements RedisHandle, Stoppable {
  readonly host = '127.0.0.1' as const;
  #spec: ProcessSpec;
  #port = 0;
  #dir = '';
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #frozen = false;

  constructor(spec: ProcessSpec) {
    this.#spec = spec;
  }

  get url(): string {
    return this.#spec.url(this.#port);
  }
  get port(): number {
    return this.#port;
  }
  get pid(): number {
    return this.#child?.pid ?? -1;
  }
  get tls(): TlsFiles | undefined {
    return this.#spec.tls;
  }
  get frozen(): boolean {
    return this.#frozen;
  }
  get stopped(): boolean {
    return !this.#child || this.#child.exitCode !== null || this.#child.signalCode !== null;
  }
  /** Working directory of the process (config, log). */
  get dir(): string {
    return this.#dir;
  }
  /** The last lines of the server log, for error messages. */
  logTail(): string {
    return logTail(join(this.#dir, 'redis.log'));
  }

  /** Starts the process (first start), retrying on another port if the random one was taken. */
  async start(): Promise<this> {
    const pinned = this.#spec.port;
    for (let attempt = 0; ; attempt++) {
      this.#port = pinned ?? (await freePort(this.#spec.needsBusPort));
      this.#dir = mkdtempSync(join(tmpdir(), 'x-redis-'));
      try {
        await this.#launch();
        track(this);
        return this;
      } catch (error) {
        rmSync(this.#dir, { recursive: true, force: true });
        const inUse = error instanceof Error && /already in use|bind/i.test(error.message);
        if (pinned !== undefined || !inUse || attempt >= 5) throw error;
      }
    }
  }

  async #launch(): Promise<void> {
    const logfile = join(this.#dir, 'redis.log');
    rmSync(logfile, { force: true });
    const child = spawn(redisServerBin(), this.#spec.args(this.#port, this.#dir, logfile), {
      cwd: this.#dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    this.#child = child;
    this.#frozen = false;
    let exited = false;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        exited = true;
        if (child.pid) untrackPid(child.pid);
        resolve();
      });
    });
    child.once('error', () => {});
    if (child.pid) trackPid(child.pid);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (exited) {
        throw new Error(
          `[@x/testkit] redis-server on port ${this.#port} exited during start-up:\n${stderr}${logTail(logfile)}`,
        );
      }
      if (existsSync(logfile) && this.#spec.ready.test(readFileSync(logfile, 'utf8'))) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `[@x/testkit] redis-server on port ${this.#port} not ready after 10 s:\n${logTail(logfile)}`,
        );
      }
      await sleep(10);
    }
  }

  async kill(): Promise<void> {
    if (this.stopped) return;
    this.#child?.kill('SIGKILL');
    await this.#exited;
    this.#frozen = false;
  }

  async freeze(): Promise<void> {
    if (this.stopped) throw new Error('[@x/testkit] cannot freeze a stopped server');
    this.#child?.kill('SIGSTOP');
    this.#frozen = true;
    // Wait until the kernel reports the process as stopped, so callers can rely on it.
    const stat = `/proc/${this.pid}/stat`;
    for (let i = 0; i < 100 && existsSync(stat); i++) {
      const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
      if (state === 'T' || state === 't') return;
      await sleep(5);
    }
  }

  async resume(): Promise<void> {
    if (this.stopped) return;
    this.#child?.kill('SIGCONT');
    this.#frozen = false;
  }

  async restart(): Promise<void> {
    await this.kill();
    rmSync(join(this.#dir, 'nodes.conf'), { force: true });
    // The same port is wanted; it is free again the moment the old process is gone.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#launch();
        track(this);
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(50);
      }
    }
  }

  async stop(): Promise<void> {
    untrack(this);
    if (!this.stopped) {
      if (this.#frozen) this.#child?.kill('SIGCONT');
      this.#child?.kill('SIGTERM');
      const timer = setTimeout(() => this.#child?.kill('SIGKILL'), 2_000);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#frozen = false;
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }
}
