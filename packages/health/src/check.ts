import { performance } from 'node:perf_hooks';
import {
  createRedisClient,
  isConfigError,
  type RedisClient,
  type RedisConfigInput,
  redactUrl,
} from '@x/config';
import { scrub } from './_internal/redact.js';
import { HealthOptionsError } from './errors.js';
import { type ServerStats, serverStats } from './info.js';

/** Options of {@link runCheck}. */
export interface RunCheckOptions {
  /**
   * Deadline of the connection (TCP, TLS and AUTH) and of each command, in ms. A frozen server
   * fails the check after this long.
   * @default 2_000
   */
  timeoutMs?: number;
  /**
   * PINGs sent one after the other to measure latency.
   * @default 5
   */
  pings?: number;
  /**
   * Format `output` as JSON (the {@link CheckReport}) instead of text.
   * @default false
   */
  json?: boolean;
  /**
   * PEM file of a CA to trust for `rediss://` (self-signed servers). Implies TLS.
   * @default undefined (the system's CAs)
   */
  caFile?: string;
  /**
   * Accept any TLS certificate (`rediss://` only). For development servers only.
   * @default false
   */
  insecure?: boolean;
  /**
   * What the server is used for: `'cache'` turns a missing evicting `maxmemory` into a warning;
   * `'store'` (sessions, locks, queues) turns missing persistence into a warning instead.
   * @default 'cache'
   */
  usage?: 'cache' | 'store';
}

/** Why a server is unusable. */
export type CheckFailureCode =
  | 'usage'
  | 'refused'
  | 'auth'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'reset'
  | 'loading'
  | 'error';

/** One piece of advice about a usable server. */
export interface CheckAdvice {
  /** `warn`: likely to hurt in production; `info`: worth knowing. */
  level: 'warn' | 'info';
  /** Stable identifier, e.g. `'no-maxmemory'`. */
  code: string;
  message: string;
}

/** What {@link runCheck} found. Never contains the password. */
export interface CheckReport {
  /** True when the server answered PING and INFO: it is usable. */
  ok: boolean;
  /** The URL checked, password replaced by `***` (`null` when it was not a URL). */
  url: string | null;
  /** Why the server is unusable (when `ok` is false). */
  failure?: { code: CheckFailureCode; message: string };
  /** PING round trips in ms. */
  latency?: { min: number; p50: number; max: number; samples: number };
  /** The server's INFO summary (without the raw sections). */
  server?: Omit<ServerStats, 'raw'>;
  /** The RDB `save` schedule (`''` when off), `null` when CONFIG is not allowed. */
  rdbSaveSchedule?: string | null;
  /** What a failover-ready setup still lacks. */
  advice: CheckAdvice[];
}

/** Outcome of {@link runCheck}: the process exit code, the report and the text to print. */
export interface RunCheckResult {
  /** 0 usable, 1 unusable, 2 bad usage (not a Redis URL, bad option). */
  exitCode: 0 | 1 | 2;
  report: CheckReport;
  /** The report as text (or JSON with `json: true`), ready to print. */
  output: string;
}

const EVICTING = /^(allkeys|volatile)-(lru|lfu|random|ttl)$/;

/**
 * Checks whether the Redis at `url` is usable: connects with a short deadline and no retries,
 * authenticates, measures PING latency, reads INFO, and lists what a failover-ready setup
 * still lacks. Never throws for an unreachable server: the result says why. The logic behind the
 * `x-redis-check` command.
 *
 * @example
 * const { exitCode, output } = await runCheck('redis://127.0.0.1:6379', { timeoutMs: 500 });
 */
export async function runCheck(
  url: string,
  options: RunCheckOptions = {},
): Promise<RunCheckResult> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const pings = options.pings ?? 5;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new HealthOptionsError('timeoutMs', timeoutMs, 'a positive integer');
  }
  if (!Number.isInteger(pings) || pings < 1 || pings > 1_000) {
    throw new HealthOptionsError('pings', pings, 'an integer from 1 to 1000');
  }
  const usage = options.usage ?? 'cache';
  if (usage !== 'cache' && usage !== 'store') {
    throw new HealthOptionsError('usage', usage, "'cache' | 'store'");
  }

  const parsed = parse(url);
  // Never echo text that is not a URL: it may be a secret pasted in the wrong place.
  const redacted = parsed ? redactUrl(url) : null;
  const secrets = parsed ? [parsed.password, decodeSafe(parsed.password)] : [];
  const finish = (exitCode: 0 | 1 | 2, report: CheckReport): RunCheckResult => {
    const text = options.json ? JSON.stringify(report, null, 2) : formatReport(report);
    return { exitCode, report, output: scrub(text, secrets) };
  };

  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    return finish(2, {
      ok: false,
      url: redacted,
      failure: { code: 'usage', message: 'expected a redis:// or rediss:// URL' },
      advice: [],
    });
  }

  const input: RedisConfigInput = {
    url,
    connectTimeoutMs: timeoutMs,
    commandTimeoutMs: timeoutMs,
    maxRetries: 0,
  };
  if (options.caFile !== undefined || options.insecure === true) {
    input.tls = { enabled: true, skipVerify: options.insecure === true };
    if (options.caFile !== undefined) input.tls.caFile = options.caFile;
  }
  let client: RedisClient;
  try {
    // The project's fail-fast client (no offline queue, bounded connect and commands), made
    // stricter for a one-shot check: connect on demand, never reconnect, never retry.
    client = createRedisClient(input, {
      lazyConnect: true,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      // ioredis waits this long for a graceful close (2 s by default) with a ref'ed timer, which
      // would hold the CLI process open after a frozen server's report.
      disconnectTimeout: 100,
    });
  } catch (error) {
    if (!isConfigError(error)) throw error;
    const problems = error.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return finish(2, {
      ok: false,
      url: redacted,
      failure: { code: 'usage', message: `invalid connection settings: ${problems}` },
      advice: [],
    });
  }
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });

  try {
    await deadline(client.connect(), timeoutMs);
    const samples: number[] = [];
    for (let i = 0; i < pings; i++) {
      const started = performance.now();
      await deadline(client.ping(), timeoutMs);
      samples.push(performance.now() - started);
    }
    const stats = await deadline(serverStats(client), timeoutMs);
    let rdbSaveSchedule: string | null = null;
    try {
      const reply = (await deadline(client.config('GET', 'save'), timeoutMs)) as string[];
      rdbSaveSchedule = reply[1] ?? null;
    } catch {
      // CONFIG is often disabled on managed services; the advice then says "unknown".
    }
    const { raw: _raw, ...server } = stats;
    samples.sort((a, b) => a - b);
    const latency = {
      min: round(samples[0] ?? 0),
      p50: round(samples[Math.ceil(samples.length / 2) - 1] ?? 0),
      max: round(samples[samples.length - 1] ?? 0),
      samples: samples.length,
    };
    const report: CheckReport = {
      ok: true,
      url: redacted,
      latency,
      server,
      rdbSaveSchedule,
      advice: advise(stats, rdbSaveSchedule, {
        usage,
        authenticated: parsed.password !== '',
        tls: parsed.protocol === 'rediss:',
        host: parsed.hostname,
      }),
    };
    return finish(0, report);
  } catch (error) {
    const failure = classify(error, lastError, parsed, timeoutMs);
    return finish(1, { ok: false, url: redacted, failure, advice: [] });
  } finally {
    // Once 'end' (refused, auth failure) the socket is gone: disconnect() would only arm
    // ioredis' close timer on a stream that never emits 'close' again.
    if (client.status !== 'end') client.disconnect();
  }
}

/** Renders a report as the CLI's text output: one line when unusable, a summary when usable. */
export function formatReport(report: CheckReport): string {
  const where = report.url ?? '(invalid URL)';
  if (!report.ok || !report.server || !report.latency) {
    return `FAIL ${where}: ${report.failure?.message ?? 'unusable'}`;
  }
  const s = report.server;
  const l = report.latency;
  const lines = [
    `OK ${where}: Redis ${s.version}, ${s.mode}, ${s.role}`,
    `  latency      min ${l.min} ms, p50 ${l.p50} ms, max ${l.max} ms (${l.samples} PINGs)`,
    `  uptime       ${formatUptime(s.uptimeSeconds)}`,
    `  clients      ${s.connectedClients} connected`,
    `  memory       ${s.usedMemory.human} used, maxmemory ${
      s.maxmemory.bytes === 0 ? 'none' : s.maxmemory.human
    }, policy ${s.maxmemory.policy || 'unknown'}`,
    `  keys         ${s.keys}${s.evictedKeys > 0 ? ` (${s.evictedKeys} evicted since start)` : ''}`,
    `  replication  ${describeReplication(s)}`,
    `  persistence  AOF ${s.persistence.aofEnabled ? 'on' : 'off'}, RDB ${
      report.rdbSaveSchedule === null || report.rdbSaveSchedule === undefined
        ? 'unknown'
        : report.rdbSaveSchedule === ''
          ? 'off'
          : `save ${report.rdbSaveSchedule}`
    }`,
  ];
  if (report.advice.length > 0) {
    lines.push('', 'advice:');
    for (const a of report.advice)
      lines.push(`  ${a.level === 'warn' ? 'WARN' : 'info'} ${a.message}`);
  }
  return lines.join('\n');
}

function describeReplication(s: Omit<ServerStats, 'raw'>): string {
  const r = s.replication;
  if (r.role === 'replica') {
    return `replica of ${r.masterHost ?? '?'}:${r.masterPort ?? '?'}, link ${r.masterLinkStatus ?? 'unknown'}`;
  }
  return `${r.role}, ${r.connectedReplicas} replica${r.connectedReplicas === 1 ? '' : 's'}`;
}

function advise(
  s: ServerStats,
  rdbSaveSchedule: string | null,
  ctx: { usage: 'cache' | 'store'; authenticated: boolean; tls: boolean; host: string },
): CheckAdvice[] {
  const advice: CheckAdvice[] = [];
  const cache = ctx.usage === 'cache';
  if (s.role === 'replica') {
    advice.push({
      level: 'warn',
      code: 'replica',
      message:
        'this is a replica: writes fail with READONLY; point writers at the master (or Sentinel)',
    });
    if (s.replication.masterLinkStatus === 'down') {
      advice.push({
        level: 'warn',
        code: 'master-link-down',
        message: 'the link to the master is down: reads may return stale data',
      });
    }
  }
  if (s.maxmemory.bytes === 0) {
    advice.push({
      level: cache ? 'warn' : 'info',
      code: 'no-maxmemory',
      message:
        'maxmemory is not set: Redis grows until the OS kills it; for a cache set maxmemory and an evicting policy (allkeys-lru or allkeys-lfu)',
    });
  } else if (cache && !EVICTING.test(s.maxmemory.policy)) {
    advice.push({
      level: 'warn',
      code: 'no-eviction',
      message: `maxmemory-policy is ${s.maxmemory.policy || 'unknown'}: a full cache fails writes with OOM; use allkeys-lru or allkeys-lfu`,
    });
  } else if (cache && s.maxmemory.policy.startsWith('volatile-')) {
    advice.push({
      level: 'info',
      code: 'volatile-policy',
      message: `maxmemory-policy is ${s.maxmemory.policy}: only keys with a TTL are evicted; give every cache entry a TTL or use allkeys-lru`,
    });
  }
  const noRdb = rdbSaveSchedule === '';
  if (!s.persistence.aofEnabled && (noRdb || rdbSaveSchedule === null)) {
    advice.push({
      level: cache ? 'info' : 'warn',
      code: 'no-persistence',
      message: noRdb
        ? 'no persistence (AOF off, no RDB saves): a restart empties Redis; fine for a cache, not for sessions or queues'
        : 'AOF is off and the RDB schedule is unknown (CONFIG not allowed): a restart may empty Redis',
    });
  }
  if (s.role === 'master' && s.mode === 'standalone' && s.replication.connectedReplicas === 0) {
    advice.push({
      level: 'info',
      code: 'no-replicas',
      message:
        'no replicas: no automatic failover; add replicas with Sentinel, or use Redis Cluster, and let the application fall back to memory meanwhile',
    });
  }
  if (!ctx.authenticated) {
    advice.push({
      level: 'info',
      code: 'no-auth',
      message:
        'no password needed: anyone who reaches this port can read and write; set requirepass or ACL users',
    });
  }
  if (!ctx.tls && !isLoopback(ctx.host)) {
    advice.push({
      level: 'info',
      code: 'no-tls',
      message:
        'plain TCP to a remote host: traffic and the password travel unencrypted; use rediss://',
    });
  }
  return advice;
}

function classify(
  error: unknown,
  lastError: Error | undefined,
  url: URL,
  timeoutMs: number,
): { code: CheckFailureCode; message: string } {
  // ioredis rejects connect() with a bare "Connection is closed."; the cause went to 'error'.
  const cause = error instanceof DeadlineError ? error : (lastError ?? error);
  const err = cause as { message?: string; code?: string };
  const message = String(err.message ?? cause);
  const code = err.code ?? '';
  const host = `${url.hostname}:${url.port || '6379'}`;
  if (
    cause instanceof DeadlineError ||
    code === 'ETIMEDOUT' ||
    /ETIMEDOUT|timed? ?out/i.test(message)
  ) {
    return { code: 'timeout', message: `no answer from ${host} within ${timeoutMs} ms` };
  }
  if (code === 'ECONNREFUSED') return { code: 'refused', message: `connection refused by ${host}` };
  if (/^WRONGPASS|invalid (username-)?password|invalid username-password/i.test(message)) {
    return {
      code: 'auth',
      message: `authentication failed at ${host}: wrong user name or password`,
    };
  }
  if (/^NOAUTH/.test(message)) {
    return {
      code: 'auth',
      message: `authentication required by ${host}: put the password in the URL`,
    };
  }
  if (/^NOPERM/.test(message)) {
    return {
      code: 'auth',
      message: `permission denied at ${host}: the user may not run PING/INFO`,
    };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { code: 'dns', message: `host not found: ${url.hostname}` };
  }
  if (/^LOADING/.test(message)) {
    return {
      code: 'loading',
      message: `${host} is loading its dataset into memory; retry shortly`,
    };
  }
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code === 'EPROTO' ||
    /certificate|SSL|TLS/i.test(message)
  ) {
    return { code: 'tls', message: `TLS failed with ${host}: ${message}` };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return { code: 'reset', message: `connection reset by ${host}` };
  }
  return { code: 'error', message: `${host}: ${message}` };
}

class DeadlineError extends Error {}

function deadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(`deadline of ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function formatUptime(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)} h`;
  return `${Math.floor(seconds / 86_400)} days`;
}
