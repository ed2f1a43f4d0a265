import { performance } from 'node:perf_hooks';
import { diagnoseRedisError, type ProblemKind } from '@x/breaker';
import {
  createRedisClient,
  isConfigError,
  isRedisNotConnectedError,
  type RedisClient,
  type RedisConfigInput,
  redactUrl,
} from '@x/config';
import type { Redis } from 'ioredis';
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
    // stricter for a one-shot check: connect on demand, never reconnect, never retry. It connects
    // without credentials and without selecting the db: the check sends AUTH and SELECT itself,
    // so that it sees the server's own answers (ioredis would only print a warning to the
    // console when the server has no password, and carry on).
    client = createRedisClient(input, {
      lazyConnect: true,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      enableReadyCheck: false,
      username: undefined,
      password: undefined,
      db: 0,
      // ioredis waits this long for a graceful close (2 s by default) with a ref'ed timer, which
      // would hold the CLI process open after a frozen server's report.
      disconnectTimeout: 100,
      // RESP2: ioredis 6 would open with HELLO 3, which a server with a password refuses before
      // AUTH (NOAUTH HELLO...), so the check could not send AUTH itself. (ioredis 5 ignores it.)
      ...({ protocol: 2 } as object),
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
  const username = parsed.username === '' ? undefined : decodeSafe(parsed.username);
  const password = parsed.password === '' ? undefined : decodeSafe(parsed.password);
  const db = Number(parsed.pathname.replace(/^\/+/, '') || 0);
  const tls =
    parsed.protocol === 'rediss:' || options.caFile !== undefined || options.insecure === true;
  let phase: Phase = 'connect';

  try {
    await deadline(client.connect(), timeoutMs);
    let passwordUnused = false;
    if (password !== undefined) {
      phase = 'auth';
      const auth =
        username === undefined
          ? (client as Redis).call('AUTH', password)
          : (client as Redis).call('AUTH', username, password);
      try {
        await deadline(auth, timeoutMs);
      } catch (error) {
        // "AUTH <password> called without any password configured for the default user" (Redis
        // 6+) or "Client sent AUTH, but no password is set" (Redis 5): the server is open.
        if (!isNoPasswordReply(error)) throw error;
        passwordUnused = true;
      }
    }
    phase = 'command';
    if (Number.isInteger(db) && db > 0) await deadline(client.select(db), timeoutMs);
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
        password: password === undefined ? 'none' : passwordUnused ? 'unused' : 'used',
        tls,
        host: parsed.hostname,
      }),
    };
    return finish(0, report);
  } catch (error) {
    // TCP (and TLS) connected, but the server never answered ioredis' first commands: a frozen
    // server still accepts connections (the kernel's backlog).
    if (phase === 'connect' && client.status === 'connect') phase = 'command';
    const failure = classify(error, lastError, parsed, { timeoutMs, phase, tls, username });
    return finish(1, { ok: false, url: redacted, failure, advice: [] });
  } finally {
    // Once 'end' (refused, auth failure) the socket is gone: disconnect() would only arm
    // ioredis' close timer on a stream that never emits 'close' again.
    if (client.status !== 'end') client.disconnect();
  }
}

/** What the check was doing when it failed. */
type Phase = 'connect' | 'auth' | 'command';

function isNoPasswordReply(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return (
    message.includes('without any password configured') || message.includes('no password is set')
  );
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
  ctx: {
    usage: 'cache' | 'store';
    /** `used`: the server checked it; `unused`: the server has none; `none`: no password given. */
    password: 'used' | 'unused' | 'none';
    tls: boolean;
    host: string;
  },
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
  if (ctx.password === 'unused') {
    advice.push({
      level: 'warn',
      code: 'password-not-used',
      message:
        'the server accepts connections without a password: the password in the URL is not used, and anyone who reaches this port can read and write; set requirepass or ACL users on the server',
    });
  } else if (ctx.password === 'none') {
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
  ctx: { timeoutMs: number; phase: Phase; tls: boolean; username: string | undefined },
): { code: CheckFailureCode; message: string } {
  // A bare "Connection is closed." (or our not-connected error) says nothing: the reason went to
  // the 'error' event.
  const bare =
    !(error instanceof DeadlineError) &&
    (isRedisNotConnectedError(error) ||
      (error instanceof Error &&
        /^Connection is closed|Stream isn't writeable/.test(error.message)));
  const cause = bare ? (lastError ?? causeOf(error) ?? error) : error;
  const host = `${url.hostname}:${url.port || '6379'}`;
  const { timeoutMs, phase, tls } = ctx;
  if (cause instanceof DeadlineError) {
    // Our own deadline: which step stalled tells more than the error (there is none).
    if (phase === 'connect') {
      return {
        code: 'timeout',
        message: tls
          ? `no TLS connection to ${host} within ${timeoutMs} ms: check the host, the port and the firewall; a server that does not speak TLS on this port can also stall the handshake (use redis://)`
          : `no connection to ${host} within ${timeoutMs} ms: check the host, the port and the firewall`,
      };
    }
    return {
      code: 'timeout',
      message: `no answer from ${host} within ${timeoutMs} ms: the server accepted the connection but does not answer${phase === 'auth' ? ' AUTH' : ''} (frozen, overloaded or stuck in a long script${tls ? '' : ', or a TLS port spoken to without TLS: use rediss://'})`,
    };
  }
  // Every other failure: the one table of Redis failures (`diagnoseRedisError`), which the
  // diagnosis of `@x/connection` uses too, with the CLI's own flags where they are the fix.
  const found = diagnoseRedisError(cause, {
    address: host,
    tls,
    timeoutMs,
    phase: phase === 'connect' || phase === 'auth' ? 'connect' : 'command',
  });
  const text = String((cause as { message?: unknown } | null)?.message ?? cause).replace(
    /\.\s*$/,
    '',
  );
  if (found === undefined) {
    return bare
      ? { code: 'reset', message: `connection closed by ${host}${lastError ? `: ${text}` : ''}` }
      : { code: 'error', message: `${host}: ${text}` };
  }
  const code = failureCode(found.kind, cause);
  let hint = found.hint;
  if (found.kind === 'tls' && /CA \(REDIS_TLS_CA_FILE/.test(hint)) {
    hint =
      "the server's certificate is not trusted: pass its CA with --ca <file>, or --insecure for a development server";
  } else if (found.kind === 'auth' && /user name or password is wrong/.test(hint)) {
    hint = `check the ${ctx.username === undefined ? 'password' : 'user name and password'} in the URL: redis://user:password@host:port`;
  } else if (found.kind === 'auth' && /requires a password/.test(hint)) {
    hint =
      'put the password in the URL: redis://:password@host:port, or redis://user:password@host:port for an ACL user';
  }
  const lead = /^NOAUTH/.test(found.message)
    ? 'authentication required by'
    : found.kind === 'permission'
      ? 'permission denied at'
      : LEADS[code];
  return { code, message: `${lead} ${host}: ${found.message} (${hint})` };
}

const LEADS: Record<CheckFailureCode, string> = {
  usage: 'bad usage for',
  refused: 'connection refused by',
  auth: 'authentication failed at',
  timeout: 'no answer from',
  dns: 'host not found:',
  tls: 'TLS failed with',
  reset: 'connection reset by',
  loading: 'not ready yet:',
  error: 'unusable:',
};

/** The CLI's failure code for a diagnosis. */
function failureCode(kind: ProblemKind, cause: unknown): CheckFailureCode {
  switch (kind) {
    case 'refused':
      return (cause as { code?: unknown } | null)?.code === 'ECONNREFUSED' ? 'refused' : 'reset';
    case 'auth':
    case 'permission':
      return 'auth';
    case 'timeout':
    case 'dns':
    case 'tls':
    case 'loading':
      return kind;
    default:
      return 'error';
  }
}

function causeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { cause?: unknown }).cause
    : undefined;
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
