import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis } from '@x/testkit';
import { describe, expect, it, vi } from 'vitest';
import { type CheckReport, runCheck } from './check.js';

const PASSWORD = 'pa55:w/rd%secret';
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@x/source', '--import', 'tsx', CLI, ...args],
      { timeout: 15_000, env: { ...process.env, REDIS_URL: '' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

describe('runCheck', () => {
  it('reports a usable server with version, latency, stats and the maxmemory advice', async () => {
    const redis = await startRedis();
    const { exitCode, report, output } = await runCheck(redis.url, { timeoutMs: 1_000, pings: 3 });
    expect(exitCode).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.server?.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(report.server).toMatchObject({ mode: 'standalone', role: 'master' });
    expect(report.server).not.toHaveProperty('raw');
    expect(report.latency?.samples).toBe(3);
    expect(report.latency?.min).toBeGreaterThan(0);
    expect(report.latency!.min).toBeLessThanOrEqual(report.latency!.p50);
    expect(report.latency!.p50).toBeLessThanOrEqual(report.latency!.max);
    expect(report.rdbSaveSchedule).toBe(''); // the test kit disables RDB saves
    const codes = report.advice.map((a) => a.code);
    expect(codes).toEqual(['no-maxmemory', 'no-persistence', 'no-replicas', 'no-auth']);
    expect(report.advice[0]?.level).toBe('warn');
    expect(output).toMatch(
      new RegExp(
        `^OK redis://127\\.0\\.0\\.1:${redis.port}: Redis ${report.server!.version}, standalone, master`,
      ),
    );
    expect(output).toContain('WARN maxmemory is not set');
    expect(output).toMatch(/latency +min [\d.]+ ms, p50 [\d.]+ ms, max [\d.]+ ms \(3 PINGs\)/);
  });

  it('a cache with an evicting maxmemory gets no maxmemory advice; noeviction gets a warning', async () => {
    const lru = await startRedis({
      args: ['--maxmemory', '50mb', '--maxmemory-policy', 'allkeys-lru'],
    });
    const good = await runCheck(lru.url, { timeoutMs: 1_000 });
    expect(good.exitCode).toBe(0);
    expect(good.report.server?.maxmemory).toMatchObject({
      bytes: 50 * 1024 * 1024,
      policy: 'allkeys-lru',
    });
    expect(good.report.advice.map((a) => a.code)).not.toContain('no-maxmemory');
    expect(good.report.advice.map((a) => a.code)).not.toContain('no-eviction');
    expect(good.output).toContain('maxmemory 50.00M, policy allkeys-lru');

    const noev = await startRedis({ args: ['--maxmemory', '50mb'] });
    const bad = await runCheck(noev.url, { timeoutMs: 1_000 });
    expect(bad.report.advice.find((a) => a.code === 'no-eviction')).toMatchObject({
      level: 'warn',
    });
    // As a store (sessions...), eviction is not wanted; persistence is.
    const store = await runCheck(noev.url, { timeoutMs: 1_000, usage: 'store' });
    expect(store.report.advice.map((a) => a.code)).not.toContain('no-eviction');
    expect(store.report.advice.find((a) => a.code === 'no-persistence')).toMatchObject({
      level: 'warn',
    });
  });

  it('authenticates with the URL password and never prints it', async () => {
    const redis = await startRedis({ password: PASSWORD });
    const ok = await runCheck(redis.url, { timeoutMs: 1_000 });
    expect(ok.exitCode).toBe(0);
    expect(ok.report.advice.map((a) => a.code)).not.toContain('no-auth');
    expect(ok.report.url).toBe(`redis://:***@127.0.0.1:${redis.port}`);
    expect(ok.output).not.toContain(PASSWORD);
    expect(ok.output).not.toContain(encodeURIComponent(PASSWORD));
    const json = await runCheck(redis.url, { timeoutMs: 1_000, json: true });
    expect(json.output).not.toContain(encodeURIComponent(PASSWORD));
    expect((JSON.parse(json.output) as CheckReport).ok).toBe(true);
  });

  it('fails with a one-line auth reason on a wrong or missing password, without the password', async () => {
    const redis = await startRedis({ password: PASSWORD });
    const wrong = `redis://:${encodeURIComponent('not-the-pass')}@127.0.0.1:${redis.port}`;
    const bad = await runCheck(wrong, { timeoutMs: 1_000 });
    expect(bad.exitCode).toBe(1);
    expect(bad.report.failure?.code).toBe('auth');
    expect(bad.output).toBe(
      `FAIL redis://:***@127.0.0.1:${redis.port}: authentication failed at 127.0.0.1:${redis.port}: WRONGPASS invalid username-password pair or user is disabled (check the password in the URL: redis://user:password@host:port)`,
    );
    expect(bad.output).not.toContain('not-the-pass');

    const missing = await runCheck(`redis://127.0.0.1:${redis.port}`, { timeoutMs: 1_000 });
    expect(missing.exitCode).toBe(1);
    expect(missing.report.failure).toEqual({
      code: 'auth',
      message: `authentication required by 127.0.0.1:${redis.port}: NOAUTH Authentication required (put the password in the URL: redis://:password@host:port, or redis://user:password@host:port for an ACL user)`,
    });
  });

  it('a password given to a server without one: usable, with a warning that it is not used', async () => {
    const redis = await startRedis();
    const warnings: unknown[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args) => {
      warnings.push(args);
    });
    try {
      const res = await runCheck(
        `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}`,
        {
          timeoutMs: 1_000,
          pings: 1,
        },
      );
      expect(res.exitCode).toBe(0);
      const advice = res.report.advice.find((a) => a.code === 'password-not-used');
      expect(advice).toEqual({
        level: 'warn',
        code: 'password-not-used',
        message:
          'the server accepts connections without a password: the password in the URL is not used, and anyone who reaches this port can read and write; set requirepass or ACL users on the server',
      });
      expect(res.report.advice.map((a) => a.code)).not.toContain('no-auth');
      expect(res.output).toContain(
        '  WARN the server accepts connections without a password: the password in the URL is not used',
      );
      expect(res.output).not.toContain(PASSWORD);
      // ioredis prints its own "[WARN] ... does not require a password" when it sends the AUTH;
      // the check sends it itself and reports instead.
      expect(warnings).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('selects the db of the URL after authenticating', async () => {
    const redis = await startRedis({ password: PASSWORD });
    const res = await runCheck(
      `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}/3`,
      { timeoutMs: 1_000, pings: 1 },
    );
    expect(res.exitCode, res.output).toBe(0);
    expect(res.report.advice.map((a) => a.code)).not.toContain('password-not-used');
  });

  it('TLS mismatch both ways, and an untrusted certificate, say what to change', async () => {
    const plain = await startRedis();
    const tls = await startRedis({ tls: true });
    const toPlain = await runCheck(`rediss://127.0.0.1:${plain.port}`, { timeoutMs: 500 });
    expect(toPlain.exitCode).toBe(1);
    expect(toPlain.report.failure).toEqual({
      code: 'timeout',
      message: `no TLS connection to 127.0.0.1:${plain.port} within 500 ms: check the host, the port and the firewall; a server that does not speak TLS on this port can also stall the handshake (use redis://)`,
    });
    const toTls = await runCheck(`redis://127.0.0.1:${tls.port}`, { timeoutMs: 1_000 });
    expect(toTls.exitCode).toBe(1);
    expect(toTls.report.failure?.code).toBe('reset');
    expect(toTls.report.failure?.message).toMatch(
      new RegExp(
        `^connection (closed|reset) by 127\\.0\\.0\\.1:${tls.port}.*it expects TLS on this port \\(use rediss://\\)`,
      ),
    );
    const untrusted = await runCheck(`rediss://127.0.0.1:${tls.port}`, { timeoutMs: 1_000 });
    expect(untrusted.report.failure).toEqual({
      code: 'tls',
      message: `TLS failed with 127.0.0.1:${tls.port}: self-signed certificate in certificate chain (the server's certificate is not trusted: pass its CA with --ca <file>, or --insecure for a development server)`,
    });
    const trusted = await runCheck(`rediss://127.0.0.1:${tls.port}`, {
      timeoutMs: 1_000,
      caFile: tls.tls!.ca,
      pings: 1,
    });
    expect(trusted.exitCode).toBe(0);
  });

  it('fails fast when nothing listens, and at the deadline when the server is frozen', async () => {
    const port = await freePort();
    const started = performance.now();
    const refused = await runCheck(`redis://127.0.0.1:${port}`, { timeoutMs: 1_000 });
    expect(performance.now() - started).toBeLessThan(500);
    expect(refused.exitCode).toBe(1);
    expect(refused.report.failure).toEqual({
      code: 'refused',
      message: `connection refused by 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (nothing accepts connections at 127.0.0.1:${port}: start Redis there, or fix the host and port (REDIS_URL, REDIS_HOST, REDIS_PORT))`,
    });
    expect(refused.output.split('\n')).toHaveLength(1);

    const redis = await startRedis();
    await redis.freeze();
    const t0 = performance.now();
    const frozen = await runCheck(redis.url, { timeoutMs: 200 });
    const elapsed = performance.now() - t0;
    expect(frozen.exitCode).toBe(1);
    expect(frozen.report.failure).toEqual({
      code: 'timeout',
      message: `no answer from 127.0.0.1:${redis.port} within 200 ms: the server accepted the connection but does not answer (frozen, overloaded or stuck in a long script, or a TLS port spoken to without TLS: use rediss://)`,
    });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(600);
    await redis.resume();
  });

  it('rejects what is not a Redis URL without echoing it, and bad options', async () => {
    const secretish = 'http://user:hunter2@example.com';
    const res = await runCheck(secretish);
    expect(res.exitCode).toBe(2);
    expect(res.report.failure?.code).toBe('usage');
    expect(res.output).not.toContain('hunter2');
    const junk = await runCheck('not a url hunter2');
    expect(junk.exitCode).toBe(2);
    expect(junk.output).toBe('FAIL (invalid URL): expected a redis:// or rediss:// URL');
    await expect(runCheck('redis://127.0.0.1:1', { timeoutMs: 0 })).rejects.toMatchObject({
      code: 'E_HEALTH_OPTIONS',
      field: 'timeoutMs',
    });
    await expect(runCheck('redis://127.0.0.1:1', { pings: 0 })).rejects.toMatchObject({
      field: 'pings',
    });
  });

  it('advises against a replica as the write endpoint', async () => {
    const primary = await startRedis();
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    const res = await runCheck(replica.url, { timeoutMs: 1_000 });
    expect(res.exitCode).toBe(0);
    expect(res.report.server?.role).toBe('replica');
    expect(res.report.advice[0]).toMatchObject({ level: 'warn', code: 'replica' });
    expect(res.output).toContain(`replica of 127.0.0.1:${primary.port}`);
  });
});

describe('x-redis-check (child process)', () => {
  it('exits 0 and prints the version and the maxmemory advice', async () => {
    const redis = await startRedis();
    const { code, stdout } = await runCli([redis.url, '--timeout', '1000']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OK redis:\/\/127\.0\.0\.1:\d+: Redis \d+\.\d+\.\d+/);
    expect(stdout).toContain('maxmemory is not set');
  });

  it('exits 1 on a wrong password with a one-line reason and no password; --json works', async () => {
    const redis = await startRedis({ password: PASSWORD });
    const url = `redis://:wrong-${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}`;
    const text = await runCli([url, '--timeout', '1000']);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(text.stderr).toMatch(/^FAIL .*authentication failed/);
    expect(text.stderr + text.stdout).not.toContain(encodeURIComponent(PASSWORD));
    expect(text.stderr + text.stdout).not.toContain(PASSWORD);

    const json = await runCli([url, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as CheckReport;
    expect(report).toMatchObject({ ok: false, failure: { code: 'auth' } });
    expect(json.stdout).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('exits non-zero when nothing listens, and 2 on bad usage', async () => {
    const port = await freePort();
    const refused = await runCli([`redis://127.0.0.1:${port}`, '--timeout', '500']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `FAIL redis://127.0.0.1:${port}: connection refused by 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (nothing accepts connections at 127.0.0.1:${port}: start Redis there, or fix the host and port (REDIS_URL, REDIS_HOST, REDIS_PORT))`,
    );
    const usage = await runCli(['--timeout', 'soon', `redis://127.0.0.1:${port}`]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^x-redis-check: --timeout expects a whole number, got "soon"/);
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/expected one Redis URL/);
  });
});
