// Issue 17: what the client says when Redis is not usable, and how long start-up takes. A
// misconfiguration is reported at once, in the server's words, with a hint, and is never called
// "unavailable" nor "no answer within N ms"; a refused port says ECONNREFUSED with its hint; only
// a silent server says "no answer within N ms". Real servers, real faults.
import { startRedis, waitFor, withAdmin } from '@x/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogLine, testLogger } from './_internal/testing.js';
import { createHybridClient, type FailoverEvent, type HybridClient } from './index.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function timedStart(
  options: Parameters<typeof createHybridClient>[0],
): Promise<{ client: HybridClient; ms: number }> {
  const started = performance.now();
  const client = await createHybridClient(options);
  const ms = performance.now() - started;
  cleanup.push(() => client.close());
  return { client, ms };
}

/** The one warning the hybrid client logged (the connection may add its own error line). */
function warning(lines: LogLine[]): LogLine {
  const warnings = lines.filter((l) => l.fields.level === 'warn');
  expect(warnings).toHaveLength(1);
  return warnings[0]!;
}

/**
 * An outage at start-up: the client waited the whole start-up probe (300 ms here), no more, then
 * served from memory; the warning names what was seen (`kind`). Returns the warning.
 */
function expectOutageAtStartup(
  client: HybridClient,
  ms: number,
  lines: LogLine[],
  kind: string,
): LogLine {
  expect(ms).toBeGreaterThanOrEqual(290);
  expect(ms).toBeLessThan(300 + 200);
  expect(client.activeBackend).toBe('fallback');
  const line = warning(lines);
  expect(line.msg).toMatch(
    new RegExp(`^\\[@x/hybrid-client\\] Redis unavailable at start-up \\(${kind}: `),
  );
  expect(line.fields).toMatchObject({
    reason: 'primary_unavailable',
    cause: 'startup',
    problem: { kind, misconfiguration: false },
  });
  return line;
}

/** A misconfiguration: reported as such, never as an outage. */
function expectMisconfigured(lines: LogLine[], kind: string, words: RegExp, hint: RegExp): void {
  const line = warning(lines);
  expect(line.msg).toMatch(
    new RegExp(`^\\[@x/hybrid-client\\] Redis is misconfigured \\(${kind}\\): `),
  );
  expect(line.msg).toMatch(words);
  expect(line.msg).toMatch(hint);
  expect(line.fields).toMatchObject({
    reason: 'primary_misconfigured',
    cause: 'misconfigured',
    backend: 'fallback',
    problem: { kind, misconfiguration: true },
  });
  const all = JSON.stringify(lines);
  expect(all).not.toMatch(/unavailable/i);
  expect(all).not.toContain('no answer within');
}

describe('start-up: the deadline and the words', () => {
  it('refused port: waits the start-up probe, then says ECONNREFUSED with its hint', async () => {
    const redis = await startRedis();
    await redis.kill();
    const logger = testLogger();
    const { client, ms } = await timedStart({
      redis: redis.url,
      startupProbeTimeoutMs: 300,
      logger,
    });
    // Refused may be a Redis that is starting: the start-up probe is given its time, no more.
    const line = expectOutageAtStartup(client, ms, logger.lines, 'refused');
    expect(line.msg).toContain('ECONNREFUSED');
    expect(line.msg).toContain(`nothing accepts connections at 127.0.0.1:${redis.port}`);
    expect(line.msg).not.toContain('no answer within');
    expect(client.stats().redis?.problem?.kind).toBe('refused');
    expect(await client.set('k', 'v')).toBe(true);
    expect(await client.get('k')).toBe('v');
  });

  it('frozen server (SIGSTOP): waits the start-up probe, then says no answer within N ms', async () => {
    const redis = await startRedis();
    await redis.freeze();
    cleanup.push(() => redis.resume());
    const logger = testLogger();
    const { client, ms } = await timedStart({
      redis: redis.url,
      timeoutMs: 100,
      startupProbeTimeoutMs: 300,
      logger,
    });
    const line = expectOutageAtStartup(client, ms, logger.lines, 'timeout');
    expect(line.msg).toContain('no answer within 300 ms');
    // Every call is bounded: served from memory at once.
    const started = performance.now();
    expect(await client.get('k')).toBeNull();
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('wrong password: resolves at once (not after the probe), says WRONGPASS and what to change', async () => {
    const redis = await startRedis({ password: 'secret' });
    const logger = testLogger();
    const { client, ms } = await timedStart({
      redis: redis.url.replace('secret', 'wrong'),
      startupProbeTimeoutMs: 5_000,
      logger,
    });
    expect(ms).toBeLessThan(1_000);
    expect(client.activeBackend).toBe('fallback');
    expectMisconfigured(logger.lines, 'auth', /WRONGPASS/, /REDIS_PASSWORD/);
    // The connection's own line: once, at error level.
    expect(logger.lines.filter((l) => l.fields.level === 'error')).toHaveLength(1);
    expect(JSON.stringify(logger.lines)).not.toContain('secret');
    expect(client.stats().redis?.problem).toMatchObject({ kind: 'auth', misconfiguration: true });
    // Caches still serve from memory.
    expect(await client.set('k', 'v')).toBe(true);
    expect(await client.get('k')).toBe('v');
  });

  it('TLS mismatch (a TLS server reached with redis://): resolves at once, says TLS and rediss://', async () => {
    const redis = await startRedis({ tls: true });
    const logger = testLogger();
    const { client, ms } = await timedStart({
      redis: `redis://127.0.0.1:${redis.port}`,
      timeoutMs: 500,
      startupProbeTimeoutMs: 5_000,
      logger,
    });
    expect(ms).toBeLessThan(2_500);
    expect(client.activeBackend).toBe('fallback');
    expectMisconfigured(logger.lines, 'tls', /speaks TLS/, /rediss:\/\//);
    expect(client.stats().redis?.problem?.kind).toBe('tls');
  });

  it('unknown host: resolves at once, says the name does not resolve', async () => {
    const logger = testLogger();
    const { client, ms } = await timedStart({
      redis: 'redis://no-such-host.invalid:6379',
      startupProbeTimeoutMs: 5_000,
      logger,
    });
    expect(ms).toBeLessThan(3_000);
    expect(client.activeBackend).toBe('fallback');
    expectMisconfigured(logger.lines, 'dns', /ENOTFOUND|EAI_AGAIN/, /does not resolve/);
  });

  it("with fallback: 'none' a misconfiguration rejects calls with the diagnosis", async () => {
    const redis = await startRedis({ password: 'secret' });
    const logger = testLogger();
    const { client, ms } = await timedStart({
      redis: redis.url.replace('secret', 'wrong'),
      fallback: 'none',
      startupProbeTimeoutMs: 5_000,
      logger,
    });
    expect(ms).toBeLessThan(1_000);
    const error = await client.get('k').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'E_HYBRID_UNAVAILABLE',
      problem: { kind: 'auth', misconfiguration: true },
    });
    expect((error as Error).message).toMatch(/WRONGPASS/);
    expect(warning(logger.lines).fields).toMatchObject({
      reason: 'primary_misconfigured',
      cause: 'misconfigured',
      backend: 'primary',
    });
  });
});

describe('runtime: the failover event and line carry the problem', () => {
  it('frozen server: the failover says what was seen (a timeout), with its hint', async () => {
    const redis = await startRedis();
    const logger = testLogger();
    const { client } = await timedStart({
      redis: redis.url,
      timeoutMs: 100,
      probeIntervalMs: 100,
      logger,
    });
    expect(client.activeBackend).toBe('primary');
    const failover = new Promise<FailoverEvent>((resolve) => client.once('failover', resolve));
    await redis.freeze();
    cleanup.push(() => redis.resume());
    expect(await client.set('k', 'v')).toBe(true);
    const event = await failover;
    expect(event).toMatchObject({
      reason: 'primary_unavailable',
      problem: { kind: 'timeout', misconfiguration: false },
    });
    expect(event.problem!.hint).toMatch(/does not answer within 100 ms/);
    const line = warning(logger.lines);
    expect(line.msg).toMatch(/^\[@x\/hybrid-client\] Redis unavailable \(timeout: /);
    expect(line.fields).toMatchObject({ problem: { kind: 'timeout' } });
  });

  it('a permission revoked at runtime: the failover is a misconfiguration, not an outage', async () => {
    const redis = await startRedis({ user: { name: 'app', password: 'pw' } });
    const logger = testLogger();
    const { client } = await timedStart({ redis: redis.url, timeoutMs: 500, logger });
    expect(client.activeBackend).toBe('primary');
    expect(await client.set('k', 'before')).toBe(true);
    const failover = new Promise<FailoverEvent>((resolve) => client.once('failover', resolve));
    await withAdmin(redis.port, (admin) => admin.call('ACL', 'SETUSER', 'app', '-set'));
    // The write is served from memory; Redis refused it with NOPERM.
    expect(await client.set('k', 'during')).toBe(true);
    const event = await failover;
    expect(event).toMatchObject({
      reason: 'primary_misconfigured',
      cause: 'misconfigured',
      problem: { kind: 'permission', misconfiguration: true },
    });
    expect(event.problem!.message).toMatch(/^NOPERM/);
    await waitFor('the failover line', () => logger.count('primary_misconfigured') === 1);
    expect(logger.count('primary_unavailable')).toBe(0);
  });
});
