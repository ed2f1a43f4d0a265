import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { AbstractConnector, type RedisOptions, ReplyError, SentinelConnector } from 'ioredis';
import { formatHostPort } from './_internal/endpoint.js';
import { CredentialsError } from './errors.js';

/** What a {@link CredentialsProvider} returns. */
export interface Credentials {
  /** ACL user. Omitted: the config's `username`, else Redis' `default` user. */
  readonly username?: string | undefined;
  /** The password or token. */
  readonly password: string;
  /**
   * When these credentials stop working (epoch ms or a `Date`). Open connections authenticate
   * again with fresh credentials before then; omitted: they never expire (re-authentication only
   * with `credentialsRefreshMs`).
   */
  readonly expiresAt?: number | Date | undefined;
}

/** What a {@link CredentialsProvider} is called with. */
export interface CredentialsContext {
  /** The server the credentials are for (`host:port`; for Sentinel, the resolved node). */
  readonly address: string;
  /** Aborts when the connection attempt gives up (its deadline passed, or it was closed). */
  readonly signal: AbortSignal;
}

/**
 * Returns the credentials for a new connection or a re-authentication: a function of yours, sync
 * or async (an IAM token signer, a secrets-manager lookup...). Called for every new connection
 * and every reconnection, and before the credentials of open connections expire. A provider that
 * throws, returns something else than `{ username?, password, expiresAt? }` or does not settle
 * within the connect timeout fails that attempt with a {@link CredentialsError}.
 */
export type CredentialsProvider = (
  context: CredentialsContext,
) => Credentials | Promise<Credentials>;

/** Options of {@link credentialsConnector}. */
export interface CredentialsConnectorOptions {
  /** User for credentials that name none (the config's `username`). @default undefined */
  username?: string | undefined;
}

/** An ioredis `Connector` class, for `RedisOptions.Connector`. */
export type CredentialsConnectorClass = NonNullable<RedisOptions['Connector']>;

/** What a connection last authenticated with (no secret). */
export interface ConnectionAuth {
  /** Epoch ms of the successful `AUTH`. */
  readonly at: number;
  /** Epoch ms when those credentials expire, when the provider said. */
  readonly expiresAt: number | undefined;
  /** The user, `undefined` for the default user. */
  readonly username: string | undefined;
}

/** @internal What a connector class was made from. */
export interface ConnectorSource {
  readonly provider: CredentialsProvider;
  readonly username: string | undefined;
}

const SOURCE: unique symbol = Symbol.for('@x/config.credentials-source') as never;
// The connector of each client, by the client's `options` object (ioredis constructs the
// connector with exactly that object), to read what the connection authenticated with.
const connectors = new WeakMap<object, { auth: ConnectionAuth | undefined }>();

/** @internal The provider behind a connector class made by {@link credentialsConnector}. */
export function connectorSource(connector: unknown): ConnectorSource | undefined {
  return typeof connector === 'function'
    ? (connector as { [SOURCE]?: ConnectorSource })[SOURCE]
    : undefined;
}

/** @internal What the connection of the client with these `options` authenticated with. */
export function connectionAuth(options: object): ConnectionAuth | undefined {
  return connectors.get(options)?.auth;
}

/** @internal Records a successful re-authentication of an open connection. */
export function recordConnectionAuth(options: object, auth: ConnectionAuth): void {
  const connector = connectors.get(options);
  if (connector !== undefined) connector.auth = auth;
}

/**
 * An ioredis `Connector` that authenticates every new connection with credentials from
 * `provider`: it opens the socket (for Sentinel, through ioredis' `SentinelConnector`, so the
 * primary or replica is resolved as usual), waits for it to connect, calls the provider, sends
 * `AUTH` on the raw socket and reads the reply, and only then hands the authenticated stream to
 * ioredis. The client's options must carry no `password` (ioredis would send its own `AUTH`);
 * `HELLO 3` of ioredis 6 works on the authenticated connection. Everything (connect, TLS,
 * provider, `AUTH`) is bounded by the client's `connectTimeout`.
 *
 * A failed attempt (provider error, rejected credentials, socket error) ends that attempt with the
 * error (emitted as the client's `error`) and ioredis retries with its `retryStrategy`, calling
 * the provider again. `createRedisClient` sets this for you when the config has `credentials`;
 * use it directly for a client you build yourself:
 * @example
 * const redis = new Redis({ host, port, Connector: credentialsConnector(getToken) });
 */
export function credentialsConnector(
  provider: CredentialsProvider,
  options: CredentialsConnectorOptions = {},
): CredentialsConnectorClass {
  if (typeof provider !== 'function') {
    throw new TypeError(
      `[@x/config] credentialsConnector(provider): provider must be a function, got ${typeof provider}`,
    );
  }
  const source: ConnectorSource = { provider, username: options.username };
  class CredentialsConnector extends AbstractConnector {
    static readonly [SOURCE] = source;
    readonly #options: RedisOptions;
    readonly #sentinel: SentinelConnector | undefined;
    #attempt: AbortController | undefined;
    auth: ConnectionAuth | undefined;

    constructor(redisOptions: unknown) {
      const o = redisOptions as RedisOptions;
      super(o.disconnectTimeout ?? 2_000);
      this.#options = o;
      this.#sentinel = o.sentinels ? new SentinelConnector(o as never) : undefined;
      connectors.set(o, this);
    }

    override check(info: unknown): boolean {
      return this.#sentinel ? this.#sentinel.check(info as { role?: string }) : true;
    }

    override disconnect(): void {
      this.connecting = false;
      this.#attempt?.abort();
      if (this.#sentinel) this.#sentinel.disconnect();
      else super.disconnect();
    }

    override async connect(emit: (type: string, error: Error) => void): Promise<Socket> {
      this.connecting = true;
      this.firstError = undefined;
      const o = this.#options;
      let stream: Socket;
      if (this.#sentinel) {
        stream = (await this.#sentinel.connect(emit as never)) as Socket;
      } else {
        // Like ioredis' StandaloneConnector: connect on the next tick, unless disconnected first.
        await new Promise<void>((resolve) => process.nextTick(resolve));
        if (!this.connecting) throw new Error('Connection is closed.');
        const target = o.path
          ? { path: o.path }
          : {
              host: o.host ?? '127.0.0.1',
              port: o.port ?? 6379,
              ...(o.family ? { family: o.family } : {}),
            };
        stream = o.tls ? tlsConnect({ ...target, ...o.tls }) : netConnect(target);
      }
      this.stream = stream as never;
      const attempt = new AbortController();
      this.#attempt = attempt;
      try {
        this.auth = await handshake(
          stream,
          source,
          attempt.signal,
          o.connectTimeout || 10_000,
          addressOf(o),
        );
      } catch (error) {
        // Keep a listener: a destroyed socket is handed over without one of ioredis'.
        stream.on('error', noop);
        stream.destroy();
        if (!this.connecting) throw new Error('Connection is closed.');
        // A destroyed stream makes ioredis emit `firstError` and run its retry strategy, as for
        // a refused connection (rejecting would end the client for good).
        this.firstError = error as Error;
      } finally {
        if (this.#attempt === attempt) this.#attempt = undefined;
      }
      return stream;
    }
  }
  return CredentialsConnector as unknown as CredentialsConnectorClass;
}

function noop(): void {}

function addressOf(o: RedisOptions): string {
  if (o.sentinels) return `the node of master "${o.name ?? '?'}" (via Sentinel)`;
  return o.path ?? formatHostPort(o.host ?? '127.0.0.1', o.port ?? 6379);
}

/** Connects, calls the provider and authenticates, all by `timeoutMs`. */
async function handshake(
  stream: Socket,
  source: ConnectorSource,
  signal: AbortSignal,
  timeoutMs: number,
  fallbackAddress: string,
): Promise<ConnectionAuth> {
  const deadline = performance.now() + timeoutMs;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const stop = AbortSignal.any([signal, timeout.signal]);
  try {
    await connected(stream, stop, timeoutMs);
    const address = stream.remoteAddress
      ? formatHostPort(stream.remoteAddress, stream.remotePort ?? 0)
      : fallbackAddress;
    const credentials = await callProvider(
      source.provider,
      { address, signal: stop },
      timeoutMs,
      stop,
    );
    const username = credentials.username ?? source.username;
    const reply = await sendAuth(stream, username, credentials.password, stop, () =>
      Math.max(0, Math.round(deadline - performance.now())),
    );
    if (reply !== undefined && !serverHasNoPassword(reply)) {
      throw new CredentialsError(
        'E_CREDENTIALS_REJECTED',
        `Redis at ${address} refused the credentials from the credentials provider${username ? ` (user ${JSON.stringify(username)})` : ''}: ${reply}`,
        { address, serverMessage: reply, cause: new ReplyError(reply) },
      );
    }
    return { at: Date.now(), expiresAt: toEpoch(credentials.expiresAt), username };
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `connect` (`secureConnect` for TLS); rejects with the socket's error. */
function connected(stream: Socket, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const tls = stream instanceof TLSSocket;
  if (!tls && !stream.connecting && !stream.destroyed && stream.readyState === 'open') {
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    const event = tls ? 'secureConnect' : 'connect';
    const done = (error?: Error): void => {
      stream.removeListener(event, onConnect);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onConnect = (): void => done();
    const onError = (error: Error): void => done(error);
    const onClose = (): void => done(closedError('before the connection was established'));
    const onAbort = (): void =>
      done(
        Object.assign(new Error(`connect ETIMEDOUT (no connection within ${timeoutMs} ms)`), {
          code: 'ETIMEDOUT',
          errno: 'ETIMEDOUT',
          syscall: 'connect',
        }),
      );
    if (signal.aborted) return onAbort();
    stream.once(event, onConnect);
    stream.once('error', onError);
    stream.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls the provider and validates what it returned. Every failure is a
 * `CredentialsError('E_CREDENTIALS_PROVIDER')`; the password never appears in a message.
 */
export async function callProvider(
  provider: CredentialsProvider,
  context: CredentialsContext,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Credentials> {
  const fail = (message: string, cause?: unknown): CredentialsError =>
    new CredentialsError('E_CREDENTIALS_PROVIDER', message, {
      address: context.address,
      ...(cause === undefined ? {} : { cause }),
    });
  let value: unknown;
  try {
    const pending = provider(context);
    value =
      typeof (pending as Promise<Credentials> | undefined)?.then === 'function'
        ? await untilAborted(pending as Promise<Credentials>, signal)
        : pending;
  } catch (error) {
    if (error === ABORTED) {
      throw fail(
        `the credentials provider did not return within ${timeoutMs} ms (connectTimeout) for ${context.address}: make it answer faster, or raise connectTimeoutMs`,
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw fail(
      `the credentials provider threw for ${context.address}: ${reason} (fix the provider; the connection attempt is retried with a new call)`,
      error,
    );
  }
  const c = value as Partial<Credentials> | null | undefined;
  const problem =
    typeof c !== 'object' || c === null
      ? `returned ${c === null ? 'null' : typeof c}`
      : typeof c.password !== 'string' || c.password === ''
        ? `returned no password (password: ${c.password === '' ? 'an empty string' : typeof c.password})`
        : c.username !== undefined && (typeof c.username !== 'string' || c.username === '')
          ? `returned an invalid username (${c.username === '' ? 'an empty string' : typeof c.username})`
          : c.expiresAt !== undefined && toEpoch(c.expiresAt) === undefined
            ? 'returned an invalid expiresAt (expected epoch ms or a Date)'
            : undefined;
  if (problem !== undefined) {
    throw fail(
      `the credentials provider ${problem} for ${context.address}: it must return { username?, password, expiresAt? }`,
    );
  }
  return c as Credentials;
}

const ABORTED = Symbol('aborted');

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(ABORTED);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Sends `AUTH [user] password` on the raw socket and reads the one reply: `undefined` for `+OK`,
 * the error text for an error reply.
 */
function sendAuth(
  stream: Socket,
  username: string | undefined,
  password: string,
  signal: AbortSignal,
  remainingMs: () => number,
): Promise<string | undefined> {
  const args = username === undefined ? ['AUTH', password] : ['AUTH', username, password];
  let frame = `*${args.length}\r\n`;
  for (const arg of args) frame += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return new Promise<string | undefined>((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const done = (error: Error | undefined, reply?: string): void => {
      stream.removeListener('data', onData);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(reply);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n');
      if (end === -1) {
        if (received.length > 64 * 1024) done(closedError('with an oversized reply to AUTH'));
        return;
      }
      const line = received.subarray(0, end).toString('utf8');
      if (line.startsWith('+')) done(undefined, undefined);
      else if (line.startsWith('-')) done(undefined, line.slice(1));
      else
        done(
          Object.assign(
            new Error(`unexpected reply to AUTH: ${JSON.stringify(line.slice(0, 40))}`),
            { code: 'EPROTO' },
          ),
        );
    };
    const onError = (error: Error): void => done(error);
    const onClose = (): void => done(closedError('during AUTH'));
    const onAbort = (): void =>
      done(
        Object.assign(
          new Error(`connect ETIMEDOUT (no answer to AUTH in time, ${remainingMs()} ms left)`),
          { code: 'ETIMEDOUT', errno: 'ETIMEDOUT', syscall: 'connect' },
        ),
      );
    if (signal.aborted) return onAbort();
    stream.on('data', onData);
    stream.once('error', onError);
    stream.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    stream.write(frame);
  });
}

function closedError(when: string): Error {
  return Object.assign(new Error(`the server closed the connection ${when}`), {
    code: 'ECONNRESET',
  });
}

/** `AUTH` answered by a server that has no password: ioredis goes on, so do we. */
export function serverHasNoPassword(reply: string): boolean {
  return reply.includes('no password is set') || reply.includes('without any password configured');
}

/** Epoch ms of an `expiresAt`, `undefined` when absent or invalid. */
export function toEpoch(value: unknown): number | undefined {
  const ms = value instanceof Date ? value.getTime() : value;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined;
}
