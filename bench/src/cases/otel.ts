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
import { toIORedisOptions } from '@x/config';
import { type Connection, createConnection, INSTANCES_CHANNEL } from '@x/connection';
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

/** GET/SET through `connection.execute` (a traced operation when someone listens). */
function throughConnection(connection: Connection): Target {
  return {
    get: (key) => connection.execute((c) => c.get(key), { operation: 'get' }),
    set: (key, value) => connection.execute((c) => c.set(key, value), { operation: 'set' }),
  };
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
  spans: boolean,
  side: () => Promise<LoadResult>,
): Promise<LoadResult> {
  let otel: Instrumentation | undefined;
  try {
    otel = instrument({
      meterProvider: sdk.meterProvider,
      tracerProvider: sdk.tracerProvider,
      spans,
    });
    const result = await side();
    await sdk.reader.collect();
    return result;
  } finally {
    otel?.close();
  }
}

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
 * Case 7: what observability costs. GET/SET through `@x/connection`'s `execute` (the guarded
 * call every package makes; traced on `x:connection:call` when someone listens) with nobody
 * listening, with `@x/otel`'s metrics on, and with metrics and spans on, against raw ioredis with
 * the same options, in one run (A B C D A B C D ...). The bar: with no subscriber the packages
 * publish nothing and the wrapper stays within 5 % of raw ioredis.
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
    const connection = createConnection({ redis: inner, logger: false, name: 'bench' });
    await connection.ready({ timeoutMs: 5_000 });
    const target = throughConnection(connection);

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
      const [rawRuns, bare, metricsOnly, full] = (await alternate(ctx.rounds, [
        () => load(raw, durationMs),
        () => load(target, durationMs),
        () => instrumented(sdk, false, () => load(target, durationMs)),
        () => instrumented(sdk, true, () => load(target, durationMs)),
      ])) as [LoadResult[], LoadResult[], LoadResult[], LoadResult[]];
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
            subject: '@x/connection execute GET/SET, nobody listening',
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
            subject: 'same, @x/otel metrics on',
            ...summary(metricsOnly),
            ratio: ratio(metricsOnly, rawRuns),
            note: [`${ratio(metricsOnly, bare).toFixed(2)}× nobody listening`, errors(metricsOnly)]
              .filter(Boolean)
              .join('; '),
          },
          {
            case: CASE,
            subject: 'same, @x/otel metrics + spans on',
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
      await connection.close();
      raw.disconnect();
      inner.disconnect();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      api.context.disable();
    }
  },
};
