import { createRequire } from 'node:module';
import { SessionOptionsError } from '../errors.js';

/** The part of express-session's `Store.prototype` the store borrows. */
export interface ExpressSessionStoreMethods {
  regenerate(this: unknown, req: unknown, callback: (error?: unknown) => unknown): void;
  load(this: unknown, sid: string, callback: (error: unknown, session?: unknown) => unknown): void;
  createSession(this: unknown, req: unknown, session: unknown): unknown;
}

let methods: ExpressSessionStoreMethods | undefined;

/**
 * express-session's own `Store.prototype`, loaded on first use. Only express-session calls
 * `regenerate`, `load` and `createSession`, so it is installed whenever they run; loading it here
 * instead of importing it keeps the store usable with @fastify/session alone.
 * @throws SessionOptionsError when express-session cannot be resolved from this package.
 */
export function expressSessionStoreMethods(): ExpressSessionStoreMethods {
  if (methods !== undefined) return methods;
  let loaded: { Store?: { prototype?: ExpressSessionStoreMethods } };
  try {
    loaded = createRequire(import.meta.url)('express-session');
  } catch (error) {
    const missing = new SessionOptionsError(
      'express-session',
      undefined,
      'the express-session package, installed next to @x/session (`npm install express-session`)',
    );
    Object.defineProperty(missing, 'cause', { value: error, configurable: true, writable: true });
    throw missing;
  }
  const prototype = loaded.Store?.prototype;
  if (typeof prototype?.createSession !== 'function') {
    throw new SessionOptionsError('express-session', loaded, 'express-session >= 1.17');
  }
  methods = prototype;
  return methods;
}
