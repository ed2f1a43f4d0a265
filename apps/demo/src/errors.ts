import { isLockLostError, isLockUnavailableError } from '@x/lock';
import { isSessionError } from '@x/session';
import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * Turns the typed errors of the x packages into clear HTTP answers: Redis-backed features that
 * must not fall back to memory (sessions without the fallback, locks) answer 503 with the
 * error's code; a lost lock is 409; invalid input 400; anything else 500.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      return reply.code(400).send({ error: 'bad_request', message: error.message });
    }
    if (isSessionError(error) && error.code === 'E_SESSION_UNAVAILABLE') {
      return reply.code(503).header('retry-after', '1').send({
        error: 'session_store_unavailable',
        code: error.code,
        message:
          'Sessions live in Redis and Redis is unavailable: sessions fail closed (no memory fallback configured). Try again shortly.',
      });
    }
    if (isLockUnavailableError(error)) {
      return reply.code(503).header('retry-after', '1').send({
        error: 'lock_unavailable',
        code: error.code,
        message:
          'Locks need Redis and Redis is unavailable: the job was not started (locks never fall back to memory).',
      });
    }
    if (isLockLostError(error)) {
      return reply.code(409).send({
        error: 'lock_lost',
        code: error.code,
        message: 'The job lost its lock before it finished and was stopped.',
      });
    }
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({
      error: status >= 500 ? 'internal_error' : 'request_error',
      message: status >= 500 ? 'Internal error' : error.message,
    });
  });
}
