import {
  type Connection,
  connectionCallChannel,
  corkUntilNextTick,
  diagnose,
  type Problem,
  type Script,
} from '@x/connection';
import { isLockUnavailableError, LockUnavailableError } from './errors.js';
import { ACQUIRE, EXTEND, RAISE_FENCE, RELEASE, RELEASE_NOTIFY } from './scripts.js';

/** What a lock operation is called in traces (`x:connection:call`) and errors. */
export type LockOperation = 'acquire' | 'release' | 'extend';

/**
 * One kind of call on a server, allocated once: `run` sends its script with the call's
 * arguments, so the hot path makes no closure per call (the guard's `call` shape).
 */
interface ServerCall<A, B, C> {
  readonly operation: LockOperation;
  run(server: LockServer, a: A, b: B, c: C): Promise<unknown>;
}

// Only sent while the client is ready: a command must never wait in a queue and leave after the
// caller was answered (an acquire sent late leaves an orphan lock behind).
const NOT_READY = new Error('Connection is closed (the client is not ready)');

const ACQUIRE_CALL: ServerCall<string, string, number> = {
  operation: 'acquire',
  run: (server, lockKey, token, ttlMs) =>
    server.sendable()
      ? server.acquireScript.run(2, lockKey, `${lockKey}:fence`, token, ttlMs)
      : notReady(),
};
const RELEASE_CALL: ServerCall<string, string, undefined> = {
  operation: 'release',
  run: (server, lockKey, token) =>
    server.sendable() ? server.releaseScript.run(1, lockKey, token) : notReady(),
};
const EXTEND_CALL: ServerCall<string, string, number> = {
  operation: 'extend',
  run: (server, lockKey, token, ttlMs) =>
    server.sendable() ? server.extendScript.run(1, lockKey, token, ttlMs) : notReady(),
};
const RAISE_CALL: ServerCall<string, number, undefined> = {
  operation: 'acquire',
  run: (server, fenceKey, fence) =>
    server.sendable() ? server.raiseScript.run(1, fenceKey, fence) : notReady(),
};

function notReady(): Promise<never> {
  return Promise.reject(NOT_READY);
}

/**
 * One Redis server of a lock manager: its managed connection (deadline, breaker, readiness,
 * diagnosis) and the lock scripts bound to it. Every call settles within the connection's
 * `timeoutMs` (a new connection's first call may first wait as long again for it to connect).
 */
export class LockServer {
  readonly connection: Connection;
  readonly acquireScript: Script;
  readonly releaseScript: Script;
  readonly extendScript: Script;
  readonly raiseScript: Script;
  /** Cork the socket per tick: only on a standalone client created here. */
  readonly #cork: boolean;
  /** Why the connection is unusable, while it is (from its `unusable` event). */
  #unusable: string | undefined;

  constructor(connection: Connection, notify: boolean) {
    this.connection = connection;
    this.#cork = connection.owned && !connection.isCluster;
    connection.on('unusable', (event) => {
      this.#unusable = event.reason;
    });
    connection.on('usable', () => {
      this.#unusable = undefined;
    });
    this.acquireScript = connection.script(ACQUIRE);
    this.releaseScript = connection.script(notify ? RELEASE_NOTIFY : RELEASE);
    this.extendScript = connection.script(EXTEND);
    this.raiseScript = connection.script(RAISE_FENCE);
  }

  /** Sends one acquire try; resolves with the script's reply (see `ACQUIRE`). */
  acquire(lockKey: string, token: string, ttlMs: number): Promise<unknown> {
    return this.#call(ACQUIRE_CALL, lockKey, token, ttlMs);
  }

  /** Compare-and-delete; resolves with 1 (released) or 0. */
  release(lockKey: string, token: string): Promise<unknown> {
    return this.#call(RELEASE_CALL, lockKey, token, undefined);
  }

  /** Compare-and-pexpire; resolves with 1 (extended) or 0. */
  extend(lockKey: string, token: string, ttlMs: number): Promise<unknown> {
    return this.#call(EXTEND_CALL, lockKey, token, ttlMs);
  }

  /** Quorum mode: raises the fencing counter to at least `fence`. */
  raise(fenceKey: string, fence: number): Promise<unknown> {
    return this.#call(RAISE_CALL, fenceKey, fence, undefined);
  }

  /**
   * @internal Whether a command may be sent now (the client is ready: a command never waits in a
   * queue); corks the socket until the end of the tick on a client created here, so that the
   * writes of one tick leave together.
   */
  sendable(): boolean {
    const client = this.connection.client;
    if (client.status !== 'ready') return false;
    if (this.#cork) corkUntilNextTick(client);
    return true;
  }

  /**
   * The error a lock operation rejects with after `error`: a {@link LockUnavailableError}
   * carrying the connection's diagnosis (or what `error` itself says: a timeout, a refusal...).
   */
  unavailable(operation: LockOperation, error: unknown): LockUnavailableError {
    if (isLockUnavailableError(error)) return error;
    const connection = this.connection;
    let problem: Problem | undefined =
      (error as { problem?: Problem } | null)?.problem ?? connection.diagnosis() ?? undefined;
    if (problem === undefined) {
      const found = diagnose(error, { timeoutMs: connection.timeoutMs });
      if (found !== undefined) problem = { ...found, since: Date.now() };
    }
    return new LockUnavailableError(operation, error, problem);
  }

  // Usable: straight through the guard (deadline + breaker), with no closure, unless someone
  // traces calls. Connecting: wait for the first verdict (a misconfiguration rejects at once),
  // then call. Unusable (link down, breaker open, misconfigured, frozen): fail at once, the
  // connection's watch brings it back.
  #call<A, B, C>(call: ServerCall<A, B, C>, a: A, b: B, c: C): Promise<unknown> {
    const connection = this.connection;
    const state = connection.state;
    if (state === 'ready') {
      if (!connectionCallChannel.hasSubscribers)
        return connection.guard.execute(call, this, a, b, c);
      return connection.execute(() => call.run(this, a, b, c), { operation: call.operation });
    }
    if (state === 'connecting') {
      return connection
        .ready({ timeoutMs: connection.timeoutMs })
        .then(() =>
          connection.execute(() => call.run(this, a, b, c), { operation: call.operation }),
        );
    }
    if (state === 'closed') {
      return connection.execute(() => call.run(this, a, b, c), { operation: call.operation });
    }
    return Promise.reject(this.#unusableError());
  }

  // A lost link is a refusal as far as a caller can tell: the connection has no problem of its own
  // to show until a reconnection attempt fails, so the error says so itself.
  #unusableError(): Error {
    const reason = this.#unusable ?? 'unusable';
    const error = new Error(
      `Redis is unusable (${reason}): lock calls fail at once until the connection recovers`,
    );
    if (reason === 'connection_lost' || reason === 'connect_failed') {
      (error as { code?: string }).code = 'ECONNRESET';
    }
    return error;
  }
}
