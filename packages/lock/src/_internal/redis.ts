import { createHash } from 'node:crypto';
import { isNoScriptError, type RedisClient } from './deps.js';

/** A Lua script run with EVALSHA, and re-sent once with EVAL (which reloads it) after NOSCRIPT. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Sends EVALSHA only: the caller handles `NOSCRIPT` (see {@link isNoScriptError}) by calling
   * {@link LuaScript.run}. The common path then costs no wrapper promise.
   */
  send(client: RedisClient, keys: number, args: (string | number)[]): Promise<unknown> {
    return client.evalsha(this.sha, keys, ...args);
  }

  /** Runs the script; `args` holds the `keys` key names first, then the arguments. */
  async run(client: RedisClient, keys: number, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys, ...args);
    } catch (error) {
      // NOSCRIPT means the script did not run, so sending it again is safe.
      if (!isNoScriptError(error)) throw error;
      return await client.eval(this.source, keys, ...args);
    }
  }
}
