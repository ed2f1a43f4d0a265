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
  return { status: ready ? 200 : 503, body };
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
