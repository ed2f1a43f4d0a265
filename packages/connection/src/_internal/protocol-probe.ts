import net from 'node:net';
import tls from 'node:tls';

/** What a server at an address speaks, as far as a short probe can tell. */
export type SpokenProtocol = 'tls' | 'plain' | 'unknown';

/**
 * Finds out whether the server at `host:port` speaks TLS or plain RESP, to tell a TLS mismatch
 * apart from an outage: a plain client reaching a TLS port sees a reset, a TLS client reaching a
 * plain port sees a handshake that never completes, and both look like "unavailable" otherwise.
 *
 * - `clientTls: false` (the client failed in plain text): tries a TLS handshake (any certificate
 *   accepted) and sends `PING` over it. A RESP reply → `'tls'`.
 * - `clientTls: true` (the client's TLS handshake failed): sends `PING` in plain text. A RESP reply
 *   (`+PONG`, `-NOAUTH ...`, any `+`/`-` line) → `'plain'`.
 *
 * Settles within `timeoutMs`, never rejects, closes its socket.
 */
export function probeProtocol(
  host: string,
  port: number,
  clientTls: boolean,
  timeoutMs: number,
): Promise<SpokenProtocol> {
  return new Promise((resolve) => {
    let done = false;
    let socket: net.Socket | undefined;
    const finish = (result: SpokenProtocol): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('unknown'), timeoutMs);
    timer.unref();
    try {
      if (clientTls) {
        const s = net.connect({ host, port });
        socket = s;
        s.once('connect', () => s.write('PING\r\n'));
        s.once('data', (chunk: Buffer) => {
          const first = chunk[0];
          // '+' (43) or '-' (45): a RESP simple string or error, i.e. a plain-text Redis.
          finish(first === 43 || first === 45 ? 'plain' : 'unknown');
        });
      } else {
        const s = tls.connect({ host, port, rejectUnauthorized: false, servername: undefined });
        socket = s;
        // A completed handshake is not enough (a TLS-intercepting middlebox completes it for any
        // address): a Redis answers PING over it, `+PONG` or `-NOAUTH ...`.
        s.once('secureConnect', () => s.write('PING\r\n'));
        s.once('data', (chunk: Buffer) => {
          const first = chunk[0];
          finish(first === 43 || first === 45 ? 'tls' : 'unknown');
        });
      }
      socket.once('error', () => finish('unknown'));
      socket.once('close', () => finish('unknown'));
    } catch {
      finish('unknown');
    }
  });
}
