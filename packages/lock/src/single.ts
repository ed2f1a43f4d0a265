import type { Connection, RedisStats } from '@x/connection';
import type { LockBackend } from './backend.js';
import type { LockUnavailableError } from './errors.js';
import type { LockOperation, LockServer } from './server.js';

/**
 * One Redis server (standalone, Sentinel or Cluster): a lock is the one server's grant. Each
 * operation is one round trip, passed through as is (no promise of its own on the acquire path).
 */
export class SingleServer implements LockBackend {
  readonly servers = 1;
  readonly quorum = 1;
  readonly connections: readonly Connection[];
  readonly #server: LockServer;

  constructor(server: LockServer) {
    this.#server = server;
    this.connections = [server.connection];
  }

  acquire(lockKey: string, token: string, ttlMs: number): Promise<unknown> {
    return this.#server.acquire(lockKey, token, ttlMs);
  }

  release(lockKey: string, token: string): Promise<boolean> {
    return this.#server.release(lockKey, token).then(isOne, this.#releaseFailed);
  }

  extend(lockKey: string, token: string, ttlMs: number): Promise<boolean> {
    return this.#server.extend(lockKey, token, ttlMs).then(isOne, this.#extendFailed);
  }

  releaseQuietly(lockKey: string, token: string): void {
    this.#server.release(lockKey, token).catch(noop);
  }

  unavailable(operation: LockOperation, error: unknown): LockUnavailableError {
    return this.#server.unavailable(operation, error);
  }

  stats(): RedisStats {
    return this.#server.connection.stats();
  }

  readonly #releaseFailed = (error: unknown): never => {
    throw this.#server.unavailable('release', error);
  };

  readonly #extendFailed = (error: unknown): never => {
    throw this.#server.unavailable('extend', error);
  };
}

function isOne(reply: unknown): boolean {
  return reply === 1;
}

function noop(): void {}
