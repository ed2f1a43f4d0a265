import * as api from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createConnection } from '@x/connection';
import type { RateLimiterOptions } from '@x/ratelimit';
import { closeAfter, startRedis, waitFor } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { meterHarness, spanAttributeValues, testLimiter, traceHarness } from './_fixtures/sdk.js';
import { instrument } from './instrument.js';

const cleanup = closeAfter(afterEach);

function setup(options: { spans?: boolean } = {}) {
  const traces = traceHarness();
  cleanup.push(() => traces.shutdown());
  const otel = instrument({ tracerProvider: traces.tracerProvider, metrics: false, ...options });
  cleanup.push(() => otel.close());
  const tracer = traces.tracerProvider.getTracer('test');
  return { ...traces, otel, tracer };
}

/** Runs `fn` inside an active span named `name`; resolves with what fn resolved. */
function inSpan<T>(
  tracer: api.Tracer,
  name: string,
  fn: (span: api.Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

const limiter = (url: string, extra: Partial<RateLimiterOptions> = {}) =>
  testLimiter(cleanup, url, extra);

describe('spans', () => {
  it('one INTERNAL span per traced call, "<package> <operation>", a child of the active span', async () => {
    const { spans, tracer, otel } = setup();
    expect(otel.nested).toBe(true);
    const server = await startRedis();
    const rl = limiter(server.url);
    await inSpan(tracer, 'GET /login', async () => {
      await rl.consume('user:secret-42');
      await rl.peek('user:secret-42');
    });
    const request = spans().find((s) => s.name === 'GET /login')!;
    const ours = spans().filter((s) => s.name.startsWith('@x/ratelimit '));
    expect(ours.map((s) => s.name)).toEqual(['@x/ratelimit consume', '@x/ratelimit peek']);
    for (const span of ours) {
      expect(span.kind).toBe(api.SpanKind.INTERNAL);
      expect(parentOf(span)).toBe(idOf(request));
      expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(span.attributes).toEqual({
        'db.system.name': 'redis',
        'x.package': '@x/ratelimit',
        'x.connection': '@x/ratelimit',
        'db.operation.name': span.name.split(' ')[1],
        'x.outcome': 'redis',
      });
      expect(span.status.code).toBe(api.SpanStatusCode.UNSET);
      expect(span.ended).toBe(true);
    }
    // The span covers the call: it ends after it started, before the request span ends.
    const [consume] = ours;
    expect(consume!.endTime[0] * 1e9 + consume!.endTime[1]).toBeLessThanOrEqual(
      request.endTime[0] * 1e9 + request.endTime[1],
    );
    for (const span of spans()) {
      expect(spanAttributeValues(span).filter((v) => v.includes('secret'))).toEqual([]);
    }
  });

  it('our span is the active one during the call: spans made inside it (ioredis instrumentation, the application) are its children', async () => {
    const { spans, tracer } = setup();
    const server = await startRedis();
    const connection = createConnection({ redis: server.url, name: 'my-service', logger: false });
    cleanup.push(() => connection.close());
    await connection.ready();
    await inSpan(tracer, 'job', () =>
      connection.execute(
        (client) => {
          // What @opentelemetry/instrumentation-ioredis does for each command: a CLIENT span
          // started in the active context.
          const command = tracer.startSpan('get', { kind: api.SpanKind.CLIENT });
          return client.get('k').finally(() => command.end());
        },
        { operation: 'load' },
      ),
    );
    const job = spans().find((s) => s.name === 'job')!;
    const ours = spans().find((s) => s.name === '@x/connection load')!;
    const command = spans().find((s) => s.name === 'get')!;
    expect(ours.attributes['x.connection']).toBe('my-service');
    expect(parentOf(ours)).toBe(idOf(job));
    expect(parentOf(command)).toBe(idOf(ours));
    // No span of ours per command: one logical operation, one span.
    expect(spans().filter((s) => s.kind === api.SpanKind.CLIENT)).toHaveLength(1);
  });

  it('a failed call: outcome error, error.type, status ERROR, an exception without the message', async () => {
    const { spans, tracer } = setup();
    const server = await startRedis();
    const connection = createConnection({ redis: server.url, name: 'my-service', logger: false });
    cleanup.push(() => connection.close());
    await connection.ready();
    await connection.execute((c) => c.set('a-string', 'v'));
    spans().length = 0;
    await inSpan(tracer, 'request', async () => {
      await expect(
        connection.execute(
          () => {
            throw new Error('no such user secret-7 in key tenant:secret-7');
          },
          { operation: 'lookup' },
        ),
      ).rejects.toThrow('secret-7');
      await expect(
        connection.execute((c) => c.hget('a-string', 'field'), { operation: 'read' }),
      ).rejects.toThrow(/WRONGTYPE/);
    });
    const lookup = spans().find((s) => s.name === '@x/connection lookup')!;
    expect(lookup.attributes['x.outcome']).toBe('error');
    expect(lookup.attributes['error.type']).toBe('Error');
    expect(lookup.status).toEqual({ code: api.SpanStatusCode.ERROR, message: 'Error' });
    expect(lookup.events.map((e) => [e.name, e.attributes])).toEqual([
      ['exception', { 'exception.type': 'Error' }],
    ]);
    const read = spans().find((s) => s.name === '@x/connection read')!;
    expect(read.attributes['error.type']).toBe('ReplyError');
    for (const span of spans()) {
      expect(spanAttributeValues(span).filter((v) => v.includes('secret'))).toEqual([]);
    }
  });

  it('state changes become events of the active span (a limiter started in a request, Redis down)', async () => {
    const { spans, tracer } = setup();
    const server = await startRedis();
    await server.kill();
    let rl: ReturnType<typeof limiter> | undefined;
    await inSpan(tracer, 'POST /setup', async () => {
      // Created inside the span: its connection's events (connect failed...) happen in the
      // span's context, and the span is still open when they do.
      rl = limiter(server.url, { timeoutMs: 200 });
      expect((await rl.consume('user:secret-9')).source).toBe('local');
      await waitFor('the connection to give up', () => rl!.stats().redis.state === 'unusable');
    });
    const setupSpan = spans().find((s) => s.name === 'POST /setup')!;
    const events = setupSpan.events.map((e) => ({ name: e.name, ...e.attributes }));
    expect(events).toContainEqual({
      name: 'x.connection.state',
      'x.package': '@x/ratelimit',
      'x.connection': '@x/ratelimit',
      'x.state.previous': 'connecting',
      'x.state': 'unusable',
      'x.reason': 'connect_failed',
      'x.problem.kind': 'refused',
    });
    for (const span of spans()) {
      expect(spanAttributeValues(span).filter((v) => v.includes('secret'))).toEqual([]);
    }
    // Back later, outside any span: nothing is added anywhere (no error either).
    await server.restart();
    await waitFor('the limiter back on Redis', async () => {
      return (await rl!.consume('again')).source === 'redis';
    });
    expect(spans().find((s) => s.name === 'POST /setup')!.events).toHaveLength(events.length);
  });

  it('no active span: root spans, and state changes add nothing', async () => {
    const { spans } = setup();
    const server = await startRedis();
    const rl = limiter(server.url);
    await rl.consume('k');
    const [consume] = spans();
    expect(consume?.name).toBe('@x/ratelimit consume');
    expect(parentOf(consume!)).toBeUndefined();
    expect(consume?.events).toEqual([]);
  });

  it('spans: false makes no span; metrics and spans can go to different providers', async () => {
    const { spans } = setup({ spans: false });
    const metrics = meterHarness();
    cleanup.push(() => metrics.shutdown());
    const second = instrument({ meterProvider: metrics.meterProvider, spans: false });
    cleanup.push(() => second.close());
    const server = await startRedis();
    const rl = limiter(server.url);
    await rl.consume('k');
    expect(spans()).toEqual([]);
    const c = await metrics.collect();
    expect(c.histograms('db.client.operation.duration')[0]?.count).toBe(1);
  });

  it('two instrumentations at once each make their spans; closing one leaves the other working', async () => {
    const first = setup();
    const other = traceHarness();
    cleanup.push(() => other.shutdown());
    const second = instrument({ tracerProvider: other.tracerProvider, metrics: false });
    cleanup.push(() => second.close());
    const server = await startRedis();
    const rl = limiter(server.url);
    await rl.consume('k');
    expect(first.spans().map((s) => s.name)).toEqual(['@x/ratelimit consume']);
    expect(other.spans().map((s) => s.name)).toEqual(['@x/ratelimit consume']);
    first.otel.close();
    await rl.consume('k');
    expect(first.spans()).toHaveLength(1);
    expect(other.spans()).toHaveLength(2);
  });
});
