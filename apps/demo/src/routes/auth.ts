import type { Session, SessionStore } from '@x/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EventBus } from '../events';

/** Dependencies of the session routes. */
export interface AuthRoutesDeps {
  sessions: SessionStore;
  events: EventBus;
  sessionTtlMs: number;
  demoPassword: string;
  secureCookie: boolean;
}

/** Name of the session cookie (HttpOnly: page scripts never see the id). */
export const SESSION_COOKIE = 'sid';

const USERNAME = '^[A-Za-z0-9_.@-]{1,64}$';

/** Only a short prefix of an id is ever shown back: the full id is a bearer credential. */
function maskId(id: string): string {
  return `${id.slice(0, 8)}…`;
}

function describe(session: Session, current: string | undefined) {
  return {
    id: maskId(session.id),
    current: session.id === current,
    createdAt: new Date(session.createdAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    userAgent: typeof session.data.userAgent === 'string' ? session.data.userAgent : null,
    ip: typeof session.data.ip === 'string' ? session.data.ip : null,
  };
}

/**
 * `POST /login`, `POST /logout`, `GET /me`, `GET /sessions`, `POST /logout-everywhere`, on
 * `@x/session`. The session id travels in an HttpOnly, SameSite=Lax cookie.
 */
export function registerAuthRoutes(app: FastifyInstance, deps: AuthRoutesDeps): void {
  const { sessions, events, sessionTtlMs, demoPassword, secureCookie } = deps;
  const cookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: secureCookie,
  };

  /** The request's live session, or `null`. A store outage propagates (fail closed: 503). */
  async function current(request: FastifyRequest): Promise<Session | null> {
    const id = request.cookies[SESSION_COOKIE];
    // A malformed or forged cookie is simply "no session": no Redis call is made for it.
    if (id === undefined || !sessions.isValidId(id)) return null;
    return sessions.get(id);
  }

  function unauthorized(reply: FastifyReply): FastifyReply {
    return reply.code(401).send({ error: 'not_logged_in', message: 'Log in first: POST /login' });
  }

  app.post<{ Body: { username: string; password: string } }>(
    '/login',
    {
      config: { rateLimit: 'auth' },
      schema: {
        body: {
          type: 'object',
          properties: {
            username: { type: 'string', pattern: USERNAME },
            password: { type: 'string', minLength: 1, maxLength: 200 },
          },
          required: ['username', 'password'],
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      if (password !== demoPassword) {
        return reply
          .code(401)
          .send({ error: 'invalid_credentials', message: 'Wrong username or password.' });
      }
      // A new id on every login (no session fixation); the previous session of this browser ends.
      const previous = request.cookies[SESSION_COOKIE];
      if (previous !== undefined && sessions.isValidId(previous)) await sessions.destroy(previous);
      const id = await sessions.create(username, {
        userAgent: request.headers['user-agent'] ?? null,
        ip: request.ip,
      });
      reply.setCookie(SESSION_COOKIE, id, {
        ...cookieOptions,
        maxAge: Math.floor(sessionTtlMs / 1000),
      });
      events.emit('login', { user: username });
      return { user: username, session: maskId(id) };
    },
  );

  app.get('/me', async (request, reply) => {
    const session = await current(request);
    if (!session) return unauthorized(reply);
    const expiresAt = await sessions.touch(session.id);
    return {
      user: session.userId,
      session: {
        ...describe(session, session.id),
        expiresAt: new Date(expiresAt ?? session.expiresAt).toISOString(),
      },
    };
  });

  app.get('/sessions', async (request, reply) => {
    const session = await current(request);
    if (!session) return unauthorized(reply);
    const list = await sessions.listUserSessions(session.userId);
    return { user: session.userId, sessions: list.map((s) => describe(s, session.id)) };
  });

  app.post('/logout', async (request, reply) => {
    const session = await current(request);
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    if (!session) return { loggedOut: false };
    await sessions.destroy(session.id);
    events.emit('logout', { user: session.userId });
    return { loggedOut: true, user: session.userId };
  });

  app.post('/logout-everywhere', async (request, reply) => {
    const session = await current(request);
    if (!session) return unauthorized(reply);
    const destroyed = await sessions.destroyUserSessions(session.userId);
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    events.emit('logout-everywhere', { user: session.userId, destroyed });
    return { loggedOut: true, user: session.userId, destroyed };
  });
}
