import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  exampleProgram,
  readmeBlocks,
  readmeExample,
  readmeSection,
  startRedis,
  typecheckPrograms,
} from '@x/testkit';
import { describe, expect, it } from 'vitest';
import { promtoolCheck } from './_fixtures/promtool.js';
import { INSTRUMENTS } from './instruments.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
const example = readmeExample(packageDir);

describe.concurrent('README quick start', () => {
  it('runs as written: prints the decisions, the state and the breaker from a scrape', async () => {
    const redis = await startRedis();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const expected = [
      'x_redis_state{x_package="@x/ratelimit",x_connection="@x/ratelimit",x_state="ready",otel_scope_name="@x/otel"} 1',
      'x_breaker_state{x_package="@x/ratelimit",x_connection="@x/ratelimit",x_state="closed",otel_scope_name="@x/otel"} 1',
      'x_ratelimit_decisions_total{x_package="@x/ratelimit",x_source="redis",x_outcome="allowed",otel_scope_name="@x/otel"} 3',
    ];
    // The state may still read "connecting" if the connection's first verdict (an INFO after the
    // handshake) had not come back yet: every other line is exact.
    expect(lines.map((line) => line.replace('x_state="connecting"', 'x_state="ready"'))).toEqual(
      expected,
    );
    // The README shows that output.
    for (const line of expected) expect(readme).toContain(line);
  });

  it('runs as written with Redis down: the decisions come from the local fallback', async () => {
    const redis = await startRedis();
    await redis.kill();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'x_ratelimit_decisions_total{x_package="@x/ratelimit",x_source="local",x_outcome="allowed",otel_scope_name="@x/otel"} 3',
    );
    expect(result.stdout).toMatch(
      /^x_redis_state\{[^}]*x_state="(unusable|connecting)"[^}]*\} 1$/m,
    );
    expect(result.stdout).not.toMatch(/x_state="ready"[^}]*\} 1/);
  });
});

describe('README programs', () => {
  it('"Prometheus": serves /metrics that passes promtool, with the decisions it made', async () => {
    const redis = await startRedis();
    const prometheus = readmeExample(packageDir, 'Prometheus');
    await prometheus.whileListening({ REDIS_URL: redis.url }, async (app) => {
      const get = (path: string) => fetch(app.url + path);
      const statuses = [];
      for (let i = 0; i < 12; i++) statuses.push((await get('/')).status);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
      expect(statuses).toContain(429);
      const response = await get('/metrics');
      expect(response.status).toBe(200);
      const text = await response.text();
      const check = await promtoolCheck(text);
      expect(check.output).toBe('');
      expect(check.code).toBe(0);
      expect(text).toMatch(
        /^x_ratelimit_decisions_total\{[^}]*x_source="redis",x_outcome="refused"[^}]*\} [1-9]/m,
      );
      expect(text).toMatch(
        /^db_client_operation_duration_count\{[^}]*db_operation_name="consume"/m,
      );
      await redis.kill();
      for (let i = 0; i < 3; i++) await get('/');
      const during = await (await get('/metrics')).text();
      expect(during).toMatch(/^x_fallback_served_total\{[^}]*x_source="local"[^}]*\} [1-9]/m);
      expect((await promtoolCheck(during)).code).toBe(0);
    });
  });

  it('"Traces, with the tracing SDK": the call is a child span of the active one', async () => {
    const redis = await startRedis();
    const prelude = `import { createRateLimiter } from '@x/ratelimit';
const limiter = createRateLimiter({ redis: process.env.REDIS_URL!, algorithm: 'fixed-window', limit: 10, windowMs: 1_000, logger: false });
`;
    const result = await exampleProgram(
      packageDir,
      `${prelude}${readmeSection(packageDir, 'Traces, with the tracing SDK')}\nawait limiter.close();\n`,
    ).run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toMatch(/^true$/m);
    // ConsoleSpanExporter prints one object per span.
    const printed = result.output.split(/^\}$/m);
    const consume = printed.find((text) => text.includes("name: '@x/ratelimit consume'"));
    const checkout = printed.find((text) => text.includes("name: 'checkout'"));
    expect(consume, result.output).toBeDefined();
    const checkoutId = /\bid: '([0-9a-f]+)'/.exec(checkout ?? '')?.[1];
    expect(checkoutId).toMatch(/^[0-9a-f]{16}$/);
    expect(/parentSpanContext: \{[^}]*spanId: '([0-9a-f]+)'/.exec(consume!)?.[1]).toBe(checkoutId);
  });

  // One compiler run for every block (tsc takes seconds on this machine).
  it('every ts block type-checks as written', { timeout: 60_000 }, async () => {
    const blocks = readmeBlocks(packageDir).map((block) => block.code);
    expect(blocks.length).toBe(3);
    const result = await typecheckPrograms(packageDir, blocks, 55_000);
    expect(result.output).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('README reference', () => {
  const TYPES = {
    counter: 'Counter',
    updowncounter: 'UpDownCounter',
    gauge: 'Gauge',
    histogram: 'Histogram',
  } as const;
  it.each(Object.values(INSTRUMENTS).map((spec) => [spec.name, spec] as const))(
    '%s is documented with its type, unit and attributes',
    (name, spec) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, `no README row for ${name}`).toBeDefined();
      const cells = row!.split(' | ');
      expect(cells[1]).toBe(TYPES[spec.kind]);
      expect(cells[2]).toBe(`\`${spec.unit}\``);
      for (const attribute of spec.attributes) expect(cells[3]).toContain(`\`${attribute}\``);
    },
  );
});
