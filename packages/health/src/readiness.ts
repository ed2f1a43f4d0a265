import type { IncomingMessage, ServerResponse } from 'node:http';
import { HealthOptionsError } from './errors.js';
import type { HealthChecker, HealthStatus } from './health-checker.js';

/** Options of {@link readiness} and {@link createReadinessHandler}. */
export interface ReadinessOptions {
  /**
   * Whether `'degraded'` (some recent checks failed, not yet `failureThreshold` in a row) counts
   * as ready. Keeping it ready avoids pulling every instance out of the load balancer on a
   * single slow PING.
   * @default true
   */
  degradedIsReady?: boolean;
  /**
   * Include the latest check error's message in the body. Off by default: a readiness endpoint is
   * often reachable from outside and error messages name internal hosts and ports.
   * @default false
   */
  exposeErrors?: boolean;
  /**
   * The current diagnosis of the connection (`() => connection.diagnosis()` of `@x/connection`, or
   * `() => stats().redis?.problem` of any x package): shown in the body as `problem` (the kind,
   * the server's words, the hint; safe to expose, it names no secret), and a misconfiguration
   * makes the instance not ready at once, without waiting for failed checks.
   * @default undefined (no diagnosis in the body)
   */
  problem?: (() => ReadinessProblem | null | undefined) | undefined;
}

/** What readiness shows of a problem (the shape of `@x/connection`'s `Problem`). */
export interface ReadinessProblem {
  readonly kind: string;
  readonly message: string;
  readonly hint: string;
  /** Epoch ms when first seen. */
  readonly since: number;
  readonly misconfiguration: boolean;
}

/** JSON body of a readiness answer. */
export interface ReadinessBody {
  /** True when the instance should receive traffic. */
  ready: boolean;
  status: HealthStatus;
  /** Latency of the latest successful PING, in ms (`null` before the first one). */
  latencyMs: number | null;
  /** p99 PING latency over the recent checks, in ms. */
  p99LatencyMs: number | null;
  consecutiveFailures: number;
  /** When the latest check settled (ISO 8601), `null` before the first. */
  checkedAt: string | null;
  /** The latest check error (only with `exposeErrors`). */
  error?: string;
  /** The connection's diagnosis (with the `problem` option): `null` when there is none. */
  problem?: {
    kind: string;
    message: string;
    hint: string;
    /** When it was first seen (ISO 8601). */
    since: string;
    misconfiguration: boolean;
  } | null;
}

/** A framework-free readiness answer: the HTTP status code and the JSON body. */
export interface ReadinessResult {
  /** 200 when ready, 503 when not. */
  status: 200 | 503;
  body: ReadinessBody;
}

/**
 * Reads the checker's current state (it runs no check itself: the checker's own schedule keeps
 * it fresh) and turns it into a status code and body, for frameworks that prefer to write the
 * response themselves.
 *
 * @example
 * app.get('/readyz', (_req, res) => { const r = readiness(checker); res.status(r.status).json(r.body); });
 */
export function readiness(checker: HealthChecker, options: ReadinessOptions = {}): ReadinessResult {
  const { degradedIsReady, exposeErrors } = validate(options);
  const stats = checker.stats();
  const ready =
    stats.status === 'healthy' || (stats.status === 'degraded' && degradedIsReady !== false);
  const body: ReadinessBody = {
    ready,
    status: stats.status,
    latencyMs: round(stats.latency.last),
    p99LatencyMs: round(stats.latency.p99),
    consecutiveFailures: stats.consecutiveFailures,
    checkedAt: stats.lastCheckAt === null ? null : new Date(stats.lastCheckAt).toISOString(),
  };
  if (exposeErrors === true && stats.consecutiveFailures > 0 && stats.lastError !== undefined) {
    body.error = stats.lastError;
  }
  if (options.problem !== undefined) {
    const problem = options.problem() ?? null;
    body.problem =
      problem === null
        ? null
        : {
            kind: problem.kind,
            message: problem.message,
            hint: problem.hint,
            since: new Date(problem.since).toISOString(),
            misconfiguration: problem.misconfiguration,
          };
    // A wrong setup is not waited out: not ready as soon as it is found.
    if (problem?.misconfiguration) body.ready = false;
  }
  return { status: body.ready ? 200 : 503, body };
}

/**
 * Creates a `node:http` request handler (usable from express, fastify's raw handlers, Koa's
 * `ctx.req/res`...) that answers 200 with a JSON body when Redis is usable and 503 when not.
 * Mount it on the **readiness** probe, never on liveness.
 *
 * @example
 * http.createServer(createReadinessHandler(checker)).listen(8080);
 */
export function createReadinessHandler(
  checker: HealthChecker,
  options: ReadinessOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  validate(options);
  const opts = { ...options };
  return (req, res) => {
    const { status, body } = readiness(checker, opts);
    const payload = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(payload));
    res.end(req.method === 'HEAD' ? undefined : payload);
  };
}

function validate(options: ReadinessOptions): ReadinessOptions {
  if (typeof options !== 'object' || options === null) {
    throw new HealthOptionsError('options', options, 'an object');
  }
  if (options.problem !== undefined && typeof options.problem !== 'function') {
    throw new HealthOptionsError('problem', options.problem, 'a function returning the diagnosis');
  }
  for (const field of ['degradedIsReady', 'exposeErrors'] as const) {
    const value = options[field];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new HealthOptionsError(field, value, 'a boolean');
    }
  }
  return options;
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}
