import { registry } from './_internal/registry';
import { startRedis } from './redis-server';
import type { RedisHandle } from './types';

/**
 * The ways a Redis can fail that every package must report truthfully, each with its own
 * diagnosis: `refused` (nothing listens), `frozen` (SIGSTOP: connections are accepted, nothing
 * answers), `wrong-password` (a password server reached with another password), `tls-mismatch`
 * (a TLS server reached with `redis://`).
 */
export type RedisFailure = 'refused' | 'frozen' | 'wrong-password' | 'tls-mismatch';

/** A Redis failing in one of the {@link RedisFailure} ways. */
export interface FailingRedis {
  readonly failure: RedisFailure;
  /** Where a client meets the failure. */
  readonly url: string;
  /** The server behind it: killed for `refused`, frozen for `frozen` (`resume()` thaws it). */
  readonly server: RedisHandle;
  /**
   * The password the server really wants (`wrong-password` only): never in `url`, so a test can
   * check that it appears in no log line.
   */
  readonly password: string | undefined;
}

const PASSWORD = 'secret';

/**
 * Starts a Redis that fails as `failure` says, for the "every wait is bounded and says why" tests.
 * It is stopped at the end of the test file like every server of the kit; a frozen one is thawed
 * by {@link resumeFrozen}.
 *
 * @example
 * const { url } = await startFailingRedis('tls-mismatch');
 * const store = createSessionStore({ redis: url, timeoutMs: 3_000 });
 */
export async function startFailingRedis(failure: RedisFailure): Promise<FailingRedis> {
  switch (failure) {
    case 'refused': {
      const server = await startRedis();
      await server.kill();
      return { failure, url: server.url, server, password: undefined };
    }
    case 'frozen': {
      const server = await startRedis();
      await server.freeze();
      return { failure, url: server.url, server, password: undefined };
    }
    case 'wrong-password': {
      const server = await startRedis({ password: PASSWORD });
      const url = server.url.replace(`:${PASSWORD}@`, ':wrong@');
      return { failure, url, server, password: PASSWORD };
    }
    case 'tls-mismatch': {
      const server = await startRedis({ tls: true });
      return { failure, url: `redis://127.0.0.1:${server.port}`, server, password: undefined };
    }
    default:
      throw new Error(`[@x/testkit] unknown Redis failure "${String(failure)}"`);
  }
}

/**
 * Resumes every server of this test file that is still frozen: for an `afterEach` that closes
 * clients next (a server a failed assertion left frozen would hold every `close()`).
 */
export async function resumeFrozen(): Promise<void> {
  const frozen = [...registry().live].filter(
    (item): item is RedisHandle => (item as Partial<RedisHandle>).frozen === true,
  );
  await Promise.all(frozen.map((server) => server.resume()));
}
