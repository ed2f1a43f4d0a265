import { createHash } from 'node:crypto';
import { isNoScriptError, type RedisClient } from './deps.js';

/**
 * A Lua script run on one client with EVALSHA, and re-sent once with EVAL (which reloads it) after
 * NOSCRIPT. The retry handler is shared by every call: it takes the arguments back from the error
 * (ioredis sets `command` on every error reply), so a call allocates no closure.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly #client: RedisClient;
  readonly #onError = (error: unknown): Promise<unknown> => this.#retry(error);

  constructor(source: string, client: RedisClient) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
    this.#client = client;
  }

  /** Runs the script on one key with three arguments (the shape every limiter script has). */
  run(key: string, a: string, b: string, c: number): Promise<number[]> {
    return this.#client.evalsha(this.sha, 1, key, a, b, c).catch(this.#onError) as Promise<
      number[]
    >;
  }

  #retry(error: unknown): Promise<unknown> {
    // NOSCRIPT means the script did not run: re-sending it cannot count the request twice.
    const args = (error as { command?: { args?: unknown } } | null)?.command?.args;
    if (!isNoScriptError(error) || !Array.isArray(args) || args.length !== 6) {
      return Promise.reject(error);
    }
    return this.#client.eval(this.source, 1, args[2], args[3], args[4], args[5]);
  }
}
