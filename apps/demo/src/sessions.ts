import { randomBytes } from 'node:crypto';
import type { FastifySessionOptions } from '@fastify/session';
import type { ExpressSessionStore } from '@x/session/express';

declare module 'fastify' {
  /** What the demo keeps in a session (@fastify/session, stored by `@x/session/express`). */
  interface Session {
    /** The logged-in user. */
    user?: string;
    /** When the user logged in (epoch ms). */
    loggedInAt?: number;
    userAgent?: string | null;
    ip?: string;
  }
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sid';

/** What the session plugin needs. */
export interface SessionPluginOptions {
  /** The `@x/session/express` store (on the demo's `@x/session` store). */
  store: ExpressSessionStore;
  /** Signs the cookie; `undefined`: a random secret for this process. */
  secret: string | undefined;
  /** Idle lifetime: the cookie's max age, slid on every request that reads the session. */
  ttlMs: number;
  /** Adds `Secure` to the cookie. */
  secureCookie: boolean;
}

/**
 * The options of `@fastify/session`: its store is the `@x/session/express` adapter, so sessions
 * live in Redis with `@x/session`'s deadline, breaker and fail-closed behaviour (or its memory
 * fallback when the demo opted in). The cookie is `sid`, signed, `HttpOnly; SameSite=Lax;
 * Path=/`, its expiry slid on every request that reads the session (`rolling`), and nothing is
 * stored for a visitor who never logs in (`saveUninitialized: false`).
 */
export function sessionPluginOptions(options: SessionPluginOptions): FastifySessionOptions {
  return {
    store: options.store,
    secret: options.secret ?? randomBytes(32).toString('base64url'),
    cookieName: SESSION_COOKIE,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookie,
      maxAge: options.ttlMs,
    },
  };
}
