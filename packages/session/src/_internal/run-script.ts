import { isNoScriptError } from '@x/config';
import type { Cluster, Redis } from 'ioredis';
import type { Script } from './scripts.js';

/** EVALSHA, and EVAL (which loads the script again) after NOSCRIPT, e.g. once Redis restarted. */
export async function runScript(
  client: Redis | Cluster,
  script: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (isNoScriptError(error)) {
      return client.eval(script.lua, keys.length, ...keys, ...args);
    }
    throw error;
  }
}
