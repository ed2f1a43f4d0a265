import { ServerProcess } from './_internal/server-process';
import { createTlsFiles } from './tls';
import type { RedisHandle, StartRedisOptions } from './types';

const READY = /Ready to accept connections/;

/** Common flags: loopback only, no persistence, no background saves. */
export function baseArgs(port: number, dir: string, logfile: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    logfile,
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    // A replica's first sync starts at once instead of after the default 5 s delay.
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/**
 * Starts a `redis-server` on a free loopback port and waits until it accepts connections.
 * It is stopped at the end of the test file (through the vitest preset's setup file).
 *
 * @example
 * const redis = await startRedis();
 * const client = new Redis(redis.url);
 * await redis.freeze(); // SIGSTOP
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const tls = options.tls ? createTlsFiles() : undefined;
  const { password, user } = options;
  const auth = user
    ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`
    : password
      ? `:${encodeURIComponent(password)}@`
      : '';
  const server = new ServerProcess({
    ...(options.port === undefined ? {} : { port: options.port }),
    ready: READY,
    ...(tls ? { tls } : {}),
    url: (port) => `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    args(port, dir, logfile) {
      const args = baseArgs(port, dir, logfile);
      if (tls) {
        args[1] = '0';
        args.push(
          '--tls-port',
          String(port),
          '--tls-cert-file',
          tls.cert,
          '--tls-key-file',
          tls.key,
          '--tls-ca-cert-file',
          tls.ca,
          '--tls-auth-clients',
          'optional',
        );
      }
      if (password) args.push('--requirepass', password);
      if (user) args.push('--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all');
      args.push(...(options.args ?? []));
      return args;
    },
  });
  return server.start();
}
