import { createServer } from 'node:net';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

// Below Linux's ephemeral range (32768+), so client sockets never take our ports, and low enough
// that port + 10000 (the Cluster bus port) stays below it too.
const LOW = 12_000;
const HIGH = 22_700;

/**
 * A free loopback port (and, with `withBus`, port + 10000 free as well). Random within a fixed
 * range so parallel test files rarely pick the same one; callers retry on EADDRINUSE anyway.
 */
export async function freePort(withBus = false): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (!(await canListen(port))) continue;
    if (withBus && !(await canListen(port + 10_000))) continue;
    return port;
  }
  throw new Error('[@x/testkit] could not find a free loopback port');
}
