import { type Command, Redis, type RedisOptions } from 'ioredis';

const DATA_COMMANDS = new Set(['get', 'set', 'mget', 'mset', 'del', 'setex', 'psetex']);

/**
 * An ioredis client (the real class, same options) that notes when a data command last got a
 * reply from the server: "traffic is back on Redis" is the first such reply after an outage.
 * Probes (PING, INFO...) are not data commands and do not count.
 */
export class WatchedRedis extends Redis {
  /** performance.now() of the latest data-command reply. */
  lastReplyAt = -1;
  /** performance.now() of the first data-command reply at or after `since`. */
  firstReplyAfter = -1;
  since = Number.POSITIVE_INFINITY;

  constructor(url: string, options: RedisOptions = {}) {
    super(url, options);
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const result = super.sendCommand(command, stream);
    if (DATA_COMMANDS.has(command.name)) {
      command.promise.then(
        () => {
          const t = performance.now();
          this.lastReplyAt = t;
          if (this.firstReplyAfter < 0 && t >= this.since) this.firstReplyAfter = t;
        },
        () => {},
      );
    }
    return result;
  }

  /** Starts watching for the first data reply from now on. */
  watchFrom(t: number): void {
    this.since = t;
    this.firstReplyAfter = -1;
  }
}
