import { createServer, type Server, Socket } from 'node:net';
import { type Stoppable, track, untrack } from './_internal/registry';

/** What the proxy does with traffic right now. */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'latency'; ms: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' };

/** Options for {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where to forward: a handle from startRedis (its current port is read per connection) or an address. */
  target: { host?: string; port: number };
  /** Initial mode. @default { kind: 'pass' } */
  mode?: FaultMode;
}

/** A TCP proxy on a free loopback port whose behaviour can be switched at run time. */
export interface FaultProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<proxy port>` (no credentials: add them yourself). */
  readonly url: string;
  readonly mode: FaultMode;
  /** Client connections currently open through the proxy. */
  readonly connections: number;
  /** Client connections accepted since the proxy started (reconnections show up here). */
  readonly accepted: number;
  /** Forward traffic unchanged (existing connections resume forwarding). */
  pass(): void;
  /** Delay every chunk in both directions by `ms` (order preserved). */
  latency(ms: number): void;
  /**
   * Accept connections but forward nothing in either direction, like a network path that
   * silently stopped delivering: the proxy stops reading, so bytes wait in kernel buffers (TCP
   * flow control bounds them). `pass()` delivers what was held, as TCP would after the path heals.
   */
  blackhole(): void;
  /** Reset (RST) every open connection, and every new one while in this mode. */
  reset(): void;
  /** Any mode at once. */
  setMode(mode: FaultMode): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

class TcpFaultProxy implements FaultProxy, Stoppable {
  readonly host = '127.0.0.1' as const;
  #server: Server;
  #target: { host?: string; port: number };
  #mode: FaultMode;
  #pairs = new Set<Pair>();
  #accepted: number;
  #port = 0;

  constructor(options: FaultProxyOptions) {
    this.#target = options.target;
    this.#accepted = 0;
    this.#mode = options.mode ?? { kind: 'pass' };
    this.#server = createServer((client) => this.#accept(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.#server.address();
    this.#port = typeof address === 'object' && address ? address.port : 0;
    track(this);
    return this;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }
  get mode(): FaultMode {
    return this.#mode;
  }
  get connections(): number {
    return this.#pairs.size;
  }
  get accepted(): number {
    return this.#accepted;
  }

  #accept(client: Socket): void {
    this.#accepted++;
    client.on('error', () => {});
    if (this.#mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => {});
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (chunk) => this.#forward(chunk, upstream));
    upstream.on('data', (chunk) => this.#forward(chunk, client));
    upstream.connect(this.#target.port, this.#target.host ?? '127.0.0.1');
    if (this.#mode.kind === 'blackhole') {
      client.pause();
      upstream.pause();
    }
  }

  #forward(chunk: Buffer, to: Socket): void {
    const mode = this.#mode;
    if (mode.kind === 'reset') return;
    if (mode.kind === 'latency') {
      // Equal delays fire in insertion order, so byte order is preserved.
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, mode.ms);
      return;
    }
    if (!to.destroyed) to.write(chunk);
  }

  pass(): void {
    this.setMode({ kind: 'pass' });
  }
  latency(ms: number): void {
    this.setMode({ kind: 'latency', ms });
  }
  blackhole(): void {
    this.setMode({ kind: 'blackhole' });
  }
  reset(): void {
    this.setMode({ kind: 'reset' });
  }

  setMode(mode: FaultMode): void {
    this.#mode = mode;
    for (const pair of this.#pairs) {
      if (mode.kind === 'blackhole') {
        pair.client.pause();
        pair.upstream.pause();
      } else {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
    if (mode.kind === 'reset') {
      for (const pair of this.#pairs) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
      this.#pairs.clear();
    }
  }

  async close(): Promise<void> {
    untrack(this);
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  stop(): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a TCP fault proxy on a free loopback port in front of `target`.
 *
 * @example
 * const proxy = await startFaultProxy({ target: redis });
 * const client = new Redis(proxy.url);
 * proxy.blackhole(); // commands now hang until their deadline
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  return new TcpFaultProxy(options).listen();
}
