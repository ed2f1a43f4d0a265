import type { ExpressSessionRecord, ExpressSessionStore } from '@x/session/express';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EventBus } from '../events';
import { SESSION_COOKIE } from '../sessions';

/** Dependencies of the session routes. */
export interface AuthRoutesDeps {
  /** The `@x/session/express` store that @fastify/session uses (for the per-user routes). */
  store: ExpressSessionStore;
  events: EventBus;
  demoPassword: string;
}

const USERNAME = '^[A-Za-z0-9_.@-]{1,64}$';

/** Only a short prefix of an id is ever shown back: the full id is a bearer credential. */
function maskId(id: string): string {
  return `${id.slice(0, 8)}…`;
}

function iso(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const date = new Date(value as string | number | Date);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** One session as the routes show it. */
function describe(id: string, record: ExpressSessionRecord, currentId: string | undefined) {
  return {
    id: maskId(id),
    current: id === currentId,
    loggedInAt: iso(record.loggedInAt),
    expiresAt: iso(record.cookie?.expires),
    userAgent: typeof record.userAgent === 'string' ? record.userAgent : null,
    ip: typeof record.ip === 'string' ? record.ip : null,
  };
}

/**
 * The sessions of `user` (the current one included): every record of the store, filtered. The
 * express store keeps framework sessions outside `@x/session`'s per-user index, so this walks
 * them all (SCAN): fine for a demo, linear in the number of sessions.
 */
async function sessionsOf(
  store: ExpressSessionStore,
  user: string,
): Promise<Array<[string, ExpressSessionRecord]>> {
  const all = await store.all();
  return Object.entries(all).filter(([, record]) => record.user === user);
}

function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

function unauthorized(reply: FastifyReply): FastifyReply {
  return reply.code(401).send({ error: 'not_logged_in', message: 'Log in first: POST /login' });
}

/**
 * `POST /login` on `request.session` of @fastify/session (registered in an enclosing scope, with
 * the `@x/session/express` store). A store that cannot answer (Redis down, no memory fallback)
 * fails the request with `SessionUnavailableError`: the error handler answers 503.
 */
export function registerLoginRoute(app: FastifyInstance, deps: AuthRoutesDeps): void {
  const { events, demoPassword } = deps;
  app.post<{ Body: { username: string; password: string } }>(
    '/login',
    {
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
      await request.session.regenerate();
      request.session.user = username;
      request.session.loggedInAt = Date.now();
      request.session.userAgent = request.headers['user-agent'] ?? null;
      request.session.ip = request.ip;
      // Stored now, so a login only succeeds once the session is; the cookie goes with the answer.
      await request.session.save();
      events.emit('login', { user: username });
      return { user: username, session: maskId(request.session.sessionId) };
    },
  );
}

/**
 * `GET /me`, `GET /sessions`, `POST /logout`, `POST /logout-everywhere`, on `request.session` of
 * @fastify/session, as {@link registerLoginRoute}.
 */
export function registerAccountRoutes(app: FastifyInstance, deps: AuthRoutesDeps): void {
  const { store, events } = deps;

  app.get('/me', async (request, reply) => {
    const { session } = request;
    if (!session.user) return unauthorized(reply);
    // The expiry slides: @fastify/session (`rolling`) stores the session again with this answer.
    return {
      user: session.user,
      session: describe(session.sessionId, session as ExpressSessionRecord, session.sessionId),
    };
  });

  app.get('/sessions', async (request, reply) => {
    const { session } = request;
    if (!session.user) return unauthorized(reply);
    const mine = await sessionsOf(store, session.user);
    const list = mine
      .map(([id, record]) => describe(id, record, session.sessionId))
      .sort((a, b) => (a.expiresAt ?? '').localeCompare(b.expiresAt ?? ''));
    return { user: session.user, sessions: list };
  });

  app.post('/logout', async (request, reply) => {
    const user = request.session.user;
    clearSessionCookie(reply);
    if (!user) return { loggedOut: false };
    await request.session.destroy();
    events.emit('logout', { user });
    return { loggedOut: true, user };
  });

  app.post('/logout-everywhere', async (request, reply) => {
    const { session } = request;
    const user = session.user;
    if (!user) return unauthorized(reply);
    const current = session.sessionId;
    let destroyed = 0;
    for (const [id] of await sessionsOf(store, user)) {
      if (id === current) continue;
      await store.destroy(id);
      destroyed += 1;
    }
    await session.destroy();
    destroyed += 1;
    clearSessionCookie(reply);
    events.emit('logout-everywhere', { user, destroyed });
    return { loggedOut: true, user, destroyed };
  });
}
