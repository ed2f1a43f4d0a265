import diagnostics_channel from 'node:diagnostics_channel';
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { GuardOperation } from '@x/breaker';
import type { RedisClient } from '@x/config';
import { toIORedisOptions } from '@x/config';
import {
  type Connection,
  connectionCallChannel,
  createConnection,
  INSTANCES_CHANNEL,
} from '@x/connection';
import { type Instrumentation, instrument } from '@x/otel';
import { Redis } from 'ioredis';
import { alternate } from '../_internal/alternate';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { type LoadResult, runLoad } from '../_internal/load';
import { benchRedis, keys } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { median } from '../_internal/stats';

const CASE = '7 otel';
const CONCURRENCY = 100;
const KEYS = keys('item', 10_000);
const VALUE = 'v'.repeat(100);

interface Target {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
}

/** The same load as case 1: half SET, half GET of what was just written, 100 in flight. */
function load(target: Target, durationMs: number): Promise<LoadResult> {
  return runLoad({
    concurrency: CONCURRENCY,
    durationMs,
    op: (w, i) => {
      const key = KEYS[(w * 100 + (i >> 1)) % KEYS.length]!;
      return (i & 1) === 0 ? target.set(key, VALUE) : target.get(key);
    },
  });
}

const GET: GuardOperation<unknown, RedisClient, string> = { run: (c, key) => c.get(key) };
const SET: GuardOperation<unknown, RedisClient, string, string> = {
  run: (c, key, value) => c.set(key, value),
};

/**
 * GET/SET the way every package built on `@x/connection` calls Redis: straight through the
 * connection's guard (deadline + breaker, no closure) while nobody listens, through
 * `connection.execute` (a traced operation on `x:connection:call`) while someone does. Used when
 * `@x/hybrid-client` is not yet built on `@x/connection` (it then announces nothing).
 */
function packageHotPath(connection: Connection): Target {
  const client = connection.client;
  return {
    get: (key) =>
      connectionCallChannel.hasSubscribers
        ? connection.execute((c) => c.get(key), { operation: 'get' })
        : connection.guard.execute(GET, client, key),
    set: (key, value) =>
      connectionCallChannel.hasSubscribers
        ? connection.execute((c) => c.set(key, value), { operation: 'set' })
        : connection.guard.execute(SET, client, key, value),
  };
}

/** The hybrid client, if it announces itself on `x:instances` (built on `@x/connection`). */
async function hybridClient(
  redis: Redis,
): Promise<{ target: Target & { close(): Promise<void> }; name: string } | undefined> {
  const announced: unknown[] = [];
  const listener = (message: unknown): void => void announced.push(message);
  diagnostics_channel.subscribe(INSTANCES_CHANNEL, listener);
  try {
    const { createHybridClient } = await import('@x/hybrid-client');
    const client = await createHybridClient({ redis, logger: false });
    if (announced.length === 0 || client.activeBackend !== 'primary') {
      await client.close();
      return undefined;
    }
    return { target: client, name: '@x/hybrid-client' };
  } catch {
    return undefined;
  } finally {
    diagnostics_channel.unsubscribe(INSTANCES_CHANNEL, listener);
  }
}

/** Spans go nowhere, as with an exporter whose collector is slow to answer: the SDK's work only. */
class DiscardingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

/** A reader collected once per round, as a scrape would. */
class ScrapeReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * Runs `side` with `@x/otel` on (metrics, and spans unless `spans` is false) and the SDK a
 * service would have (AsyncLocalStorage context, batch span processor, a metric reader collected
 * at the end of the round, like one scrape), then turns it off again: the other sides run with
 * nobody listening.
 */
async function instrumented(
  sdk: { meterProvider: MeterProvider; tracerProvider: BasicTracerProvider; reader: ScrapeReader },
  options: { spans: boolean; calls: boolean },
  side: () => Promise<LoadResult>,
): Promise<LoadResult> {
  let otel: Instrumentation | undefined;
  try {
    otel = instrument({
      meterProvider: sdk.meterProvider,
      tracerProvider: sdk.tracerProvider,
      ...options,
    });
    const result = await side();
    await sdk.reader.collect();
    return result;
  } finally {
    otel?.close();
  }
}

/** Runs `side` while a subscriber that does nothing listens to `x:connection:call`. */
async function traced(side: () => Promise<LoadResult>): Promise<LoadResult> {
  const channel = diagnostics_channel.tracingChannel('x:connection:call');
  const handlers = {
    start: noop,
    end: noop,
    asyncStart: noop,
    asyncEnd: noop,
    error: noop,
  };
  channel.subscribe(handlers);
  try {
    return await side();
  } finally {
    channel.unsubscribe(handlers);
  }
}

function noop(): void {}

function summary(runs: LoadResult[]): Pick<Row, 'opsPerSec' | 'p50Ms' | 'p99Ms' | 'maxMs'> {
  return {
    opsPerSec: median(runs.map((r) => r.opsPerSec)),
    p50Ms: median(runs.map((r) => r.latency.p50)),
    p99Ms: median(runs.map((r) => r.latency.p99)),
    maxMs: Math.max(...runs.map((r) => r.latency.max)),
  };
}

function ratio(ours: LoadResult[], peer: LoadResult[]): number {
  return median(ours.map((o, i) => o.opsPerSec / peer[i]!.opsPerSec));
}

function errors(runs: LoadResult[]): string | undefined {
  const n = runs.reduce((total, r) => total + r.errors, 0);
  if (n === 0) return undefined;
  const first = runs.find((r) => r.firstError !== undefined)?.firstError;
  return `${n} errors: ${first instanceof Error ? first.message : String(first)}`.slice(0, 120);
}

/**
 * Case 7: what observability costs. GET/SET on Redis the way the packages call it: through
 * `@x/hybrid-client` once it is built on `@x/connection` (it announces itself), else through a
 * connection's guard with the packages' pattern (the guard directly while nobody listens,
 * `connection.execute`, traced on `x:connection:call`, while someone does). With nobody
 * listening, with `@x/otel`'s metrics on, and with metrics and spans on, against raw ioredis with
 * the same options, in one run (A B C D A B C D ...). The bar: with no subscriber the packages
 * publish nothing and stay within 5 % of raw ioredis.
 */
export const otelCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const durationMs = ctx.quick ? 500 : 750;
    const redis = await benchRedis();
    const options = { ...toIORedisOptions(redis.url), maxRetriesPerRequest: 0 };
    const raw = new Redis(options);
    const inner = new Redis(options);
    raw.on('error', () => {});
    inner.on('error', () => {});
    const hybrid = await hybridClient(inner);
    const connection = createConnection({ redis: inner, logger: false, name: 'bench' });
    await connection.ready({ timeoutMs: 5_000 });
    const target = hybrid?.target ?? packageHotPath(connection);
    const subject = hybrid?.name ?? '@x/connection guard (package hot path)';

    const manager = new AsyncLocalStorageContextManager().enable();
    api.context.setGlobalContextManager(manager);
    const exporter = new DiscardingExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 4_096 })],
    });
    const reader = new ScrapeReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const sdk = { meterProvider, tracerProvider, reader };

    try {
      const [rawRuns, bare, statsOnly, tracedOnly, metricsOnly, full] = (await alternate(
        ctx.rounds,
        [
          () => load(raw, durationMs),
          () => load(target, durationMs),
          () => instrumented(sdk, { spans: false, calls: false }, () => load(target, durationMs)),
          () => traced(() => load(target, durationMs)),
          () => instrumented(sdk, { spans: false, calls: true }, () => load(target, durationMs)),
          () => instrumented(sdk, { spans: true, calls: true }, () => load(target, durationMs)),
        ],
      )) as LoadResult[][] as [
        LoadResult[],
        LoadResult[],
        LoadResult[],
        LoadResult[],
        LoadResult[],
        LoadResult[],
      ];
      await tracerProvider.forceFlush();

      const listening =
        diagnostics_channel.hasSubscribers(INSTANCES_CHANNEL) ||
        diagnostics_channel.tracingChannel('x:connection:call').hasSubscribers;
      const bareRatio = ratio(bare, rawRuns);
      const bareErrors = errors(bare);
      return {
        rows: [
          {
            case: CASE,
            subject: `${subject} GET/SET, nobody listening`,
            ...summary(bare),
            ratio: bareRatio,
            bar: '≥ 0.95× raw ops/s',
            met: bareRatio >= 0.95 && bareErrors === undefined && !listening,
            note: [bareErrors, listening ? 'a subscriber was left on' : undefined]
              .filter(Boolean)
              .join('; '),
          },
          {
            case: CASE,
            subject: 'same, @x/otel with calls: false (stats() metrics only)',
            ...summary(statsOnly),
            ratio: ratio(statsOnly, rawRuns),
            note: [`${ratio(statsOnly, bare).toFixed(2)}× nobody listening`, errors(statsOnly)]
              .filter(Boolean)
              .join('; '),
          },
          {
            case: CASE,
            subject: 'same, a subscriber that does nothing (the traced path alone)',
            ...summary(tracedOnly),
            ratio: ratio(tracedOnly, rawRuns),
            note: [`${ratio(tracedOnly, bare).toFixed(2)}× nobody listening`, errors(tracedOnly)]
              .filter(Boolean)
              .join('; '),
          },
          {
            case: CASE,
            subject: 'same, @x/otel metrics on (spans: false)',
            ...summary(metricsOnly),
            ratio: ratio(metricsOnly, rawRuns),
            note: [`${ratio(metricsOnly, bare).toFixed(2)}× nobody listening`, errors(metricsOnly)]
              .filter(Boolean)
              .join('; '),
          },
          {
            case: CASE,
            subject: 'same, @x/otel metrics + spans on (defaults)',
            ...summary(full),
            ratio: ratio(full, rawRuns),
            note: [
              `${ratio(full, bare).toFixed(2)}× nobody listening; ${exporter.exported.toLocaleString('en-US')} spans exported`,
              errors(full),
            ]
              .filter(Boolean)
              .join('; '),
          },
          {
            case: CASE,
            subject: 'raw ioredis GET/SET (same options)',
            ...summary(rawRuns),
            note: errors(rawRuns),
          },
        ],
      };
    } finally {
      await hybrid?.target.close();
      await connection.close();
      raw.disconnect();
      inner.disconnect();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      api.context.disable();
    }
  },
};
