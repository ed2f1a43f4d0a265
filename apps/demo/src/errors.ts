import { isLockLostError, isLockUnavailableError } from '@x/lock';
import { isSessionError } from '@x/session';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
} from 'fastify';
import { type Diagnosis, type RedisProblem, toDiagnosis } from './diagnosis';
import { RateLimitedError } from './rate-limits';

/**
 * The body of every error answer of the demo (400, 401, 404, 409, 429, 500, 503...): a stable
 * machine-readable `error`, a `message` for people, and fields that depend on the error.
 */
export interface ErrorBody {
  error: string;
  message: string;
  [field: string]: unknown;
}

/** Sends an error answer in the demo's one shape. */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.code(status).send(body);
}

/**
 * Turns the typed errors of the x packages and of the framework into clear HTTP answers, all in
 * the {@link ErrorBody} shape: Redis-backed features that must not fall back to memory (sessions
 * without the fallback, locks) answer 503 with the error's code and the connection's diagnosis
 * (`problem`); a lost lock is 409; over a rate limit 429 (headers from @fastify/rate-limit);
 * invalid input 400; anything else 500.
 */
export function registerErrorHandler(
  app: FastifyInstance,
  diagnosis: () => Diagnosis | null,
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof RateLimitedError) {
      return sendError(reply, 429, {
        error: 'rate_limited',
        message: error.message.replace(/^\[@x\/demo\] /, ''),
        policy: error.policy,
        retryAfterMs: error.retryAfterMs,
        source: error.source,
      });
    }
    if (error.validation) {
      return sendError(reply, 400, { error: 'bad_request', message: error.message });
    }
    if (isSessionError(error) && error.code === 'E_SESSION_UNAVAILABLE') {
      return sendError(reply.header('retry-after', '1'), 503, {
        error: 'session_store_unavailable',
        code: error.code,
        message:
          'Sessions live in Redis and Redis is unavailable: sessions fail closed (no memory fallback configured). Try again shortly.',
        problem: problemOf(error) ?? diagnosis(),
      });
    }
    if (isLockUnavailableError(error)) {
      return sendError(reply.header('retry-after', '1'), 503, {
        error: 'lock_unavailable',
        code: error.code,
        message:
          'Locks need Redis and Redis is unavailable: the job was not started (locks never fall back to memory).',
        problem: problemOf(error) ?? diagnosis(),
      });
    }
    if (isLockLostError(error)) {
      return sendError(reply, 409, {
        error: 'lock_lost',
        code: error.code,
        message: 'The job lost its lock before it finished and was stopped.',
      });
    }
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, status, {
      error: status >= 500 ? 'internal_error' : 'request_error',
      message: status >= 500 ? 'Internal error' : error.message,
    });
  });
}

/** The diagnosis an x error carries (`problem` of `SessionUnavailableError`, `LockUnavailableError`). */
function problemOf(error: unknown): Diagnosis | null {
  return toDiagnosis((error as { problem?: RedisProblem | null }).problem);
}

/** The 404 answer, in the same shape as every other error. */
export const notFound: RouteHandlerMethod = (request: FastifyRequest, reply: FastifyReply) =>
  sendError(reply, 404, {
    error: 'not_found',
    message: `No route ${request.method} ${request.url.split('?', 1)[0]?.slice(0, 200)}: see GET / for the status page and the README for the routes.`,
  });
