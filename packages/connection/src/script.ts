import { createHash } from 'node:crypto';
import { isNoScriptError, type RedisClient } from '@x/config';

export { isNoScriptError };

/** An argument of a script: key names first, then the arguments. */
export type ScriptArgument = string | number | Buffer;

/**
 * A Lua script bound to one client, run with `EVALSHA`, and sent once more with `EVAL` (which
 * loads it) when Redis answers `NOSCRIPT` (its script cache was flushed: a restart, a failover,
 * `SCRIPT FLUSH`). `NOSCRIPT` means the script did not run, so sending it again cannot apply it
 * twice. On a Cluster both commands are routed by the first key, so the reload happens on the
 * node that owns it. Create one with `connection.script(source)`.
 */
export interface Script {
  /** The Lua source. */
  readonly source: string;
  /** SHA1 of the source (what `EVALSHA` sends). */
  readonly sha: string;
  /**
   * Runs the script with `numKeys` key names followed by the arguments. Not guarded: call it
   * inside `connection.execute()` (or the guard) so that it has a deadline.
   * @example
   * const incr = connection.script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
   * await connection.execute((client) => incr.run(1, 'counter', 5));
   */
  run(numKeys: number, ...keysAndArgs: ScriptArgument[]): Promise<unknown>;
}

/** SHA1 of a script source, as Redis computes it. */
export function scriptSha(source: string): string {
  return createHash('sha1').update(source).digest('hex');
}

/** @internal Created by the connection; one per source. */
export class ClientScript implements Script {
  readonly source: string;
  readonly sha: string;
  readonly #client: RedisClient;
  // One handler for every call: it takes the arguments back from the error (ioredis sets
  // `command` on every error reply), so a call allocates no closure.
  readonly #onError = (error: unknown): Promise<unknown> => this.#reload(error);

  constructor(client: RedisClient, source: string) {
    this.#client = client;
    this.source = source;
    this.sha = scriptSha(source);
  }

  run(numKeys: number, ...keysAndArgs: ScriptArgument[]): Promise<unknown> {
    return this.#client.evalsha(this.sha, numKeys, ...keysAndArgs).catch(this.#onError);
  }

  #reload(error: unknown): Promise<unknown> {
    if (!isNoScriptError(error)) return Promise.reject(error);
    const args = (error as { command?: { args?: unknown } }).command?.args;
    // [sha, numKeys, ...keysAndArgs]: the same call with the source instead of the sha.
    if (!Array.isArray(args) || args.length < 2 || args[0] !== this.sha) {
      return Promise.reject(error);
    }
    return this.#client.eval(this.source, ...(args.slice(1) as [number, ...ScriptArgument[]]));
  }
}
