import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createLockManager } from '@x/lock';
import { createPubSub } from '@x/pubsub';
import { createRateLimiter } from '@x/ratelimit';
import { createSessionStore } from '@x/session';
import { closeAfter, startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { promtoolCheck } from './_fixtures/promtool.js';
import { instrument } from './instrument.js';

const cleanup = closeAfter(afterEach);

/** The exposition served by the exporter's request handler on a loopback HTTP server. */
async function serve(exporter: PrometheusExporter): Promise<string> {
  const server: Server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

describe('Prometheus exposition (@opentelemetry/exporter-prometheus)', () => {
  it('every package, before and during an outage: passes promtool check metrics', async () => {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    cleanup.push(() => meterProvider.shutdown());
    const otel = instrument({ meterProvider });
    cleanup.push(() => otel.close());
    const url = await serve(exporter);

    const server = await startRedis();
    const common = { redis: server.url, logger: false as const, timeoutMs: 300 };
    const rl = createRateLimiter({
      ...common,
      algorithm: 'sliding-window',
      limit: 2,
      windowMs: 60_000,
    });
    const locks = createLockManager(common);
    const sessions = createSessionStore({ ...common, fallback: 'memory' });
    const pubsub = createPubSub({ ...common, fallback: 'local' });
    cleanup.push(
      () => rl.close(),
      () => locks.close(),
      () => sessions.close(),
      () => pubsub.close(),
    );

    for (let i = 0; i < 3; i++) await rl.consume('tenant:secret-1');
    const lock = await locks.acquire('job:secret-2', { ttlMs: 2_000 });
    await lock.release();
    const id = await sessions.create('user:secret-3', { role: 'admin' });
    await sessions.get(id);
    await pubsub.publish('room:secret-4', { hello: 'world' });

    const healthy = await (await fetch(url)).text();
    const check = await promtoolCheck(healthy);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
    expect(healthy).toMatch(
      /^x_ratelimit_decisions_total\{[^}]*x_source="redis",x_outcome="allowed"[^}]*\} 2$/m,
    );
    expect(healthy).toMatch(
      /^x_breaker_state\{[^}]*x_package="@x\/lock"[^}]*x_state="closed"[^}]*\} 1$/m,
    );
    expect(healthy).toMatch(
      /^db_client_operation_duration_bucket\{[^}]*db_operation_name="acquire"/m,
    );
    expect(healthy).toMatch(/^x_lock_wait_duration_count\{[^}]*x_outcome="acquired"[^}]*\} 1$/m);
    expect(healthy).toMatch(/^x_session_operations_total\{[^}]*x_operation="create"[^}]*\} 1$/m);
    expect(healthy).toMatch(/^x_pubsub_published_total\{[^}]*\} 1$/m);
    expect(healthy).toMatch(/^# TYPE x_redis_calls_total counter$/m);
    expect(healthy).toMatch(/^# TYPE x_redis_state gauge$/m);

    await server.kill();
    await waitFor('the limiter to decide locally', async () => {
      return (await rl.consume('tenant:secret-1')).source === 'local';
    });
    await sessions.get(id);
    await pubsub.publish('room:secret-4', { hello: 'again' });
    await expect(locks.acquire('job:secret-2', { ttlMs: 1_000 })).rejects.toThrow();

    // Each connection finds what is wrong on its next reconnection attempt.
    const problems = () =>
      [rl.stats().redis, locks.stats().redis, sessions.stats().redis, pubsub.stats().redis].map(
        (r) => (Array.isArray(r) ? r[0] : r)?.problem?.kind,
      );
    await waitFor('every connection to find the refusal', () =>
      problems().every((kind) => kind === 'refused'),
    );
    const outage = await (await fetch(url)).text();
    const again = await promtoolCheck(outage);
    expect(again.output).toBe('');
    expect(again.code).toBe(0);
    expect(outage).toMatch(
      /^x_fallback_served_total\{[^}]*x_package="@x\/ratelimit"[^}]*x_source="local"[^}]*\} [1-9]/m,
    );
    expect(outage).toMatch(
      /^x_fallback_served_total\{[^}]*x_package="@x\/session"[^}]*x_source="memory"[^}]*\} [1-9]/m,
    );
    expect(outage).toMatch(
      /^x_fallback_served_total\{[^}]*x_package="@x\/pubsub"[^}]*x_source="local"[^}]*\} [1-9]/m,
    );
    expect(outage).toMatch(/^x_redis_problem\{[^}]*x_problem_kind="refused"[^}]*\} 1$/m);
    expect(outage).toMatch(/^x_lock_unavailable_total\{[^}]*\} 1$/m);
    // Low cardinality: no key, session id, user id or channel anywhere.
    expect(outage).not.toMatch(/secret/);
    expect(outage).not.toContain(id);
  });
});
