/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** `requirepass` for the default user. */
  password?: string;
  /** An extra ACL user with all permissions. */
  user?: { name: string; password: string };
  /** Serve TLS (on the handle's `port`); certificates are generated with openssl into a temp dir. */
  tls?: boolean;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /** Pin the port (used internally by restart); default: a free loopback port. */
  port?: number;
}

/** Paths of a throwaway certificate authority and a server/client certificate signed by it. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
  /** The CA certificate itself (PEM text), handy for ioredis `tls: { ca }`. */
  caPem: string;
}

/** A running `redis-server` process started by the test kit. */
export interface RedisHandle {
  /** `redis://` (or `rediss://` with TLS) URL including credentials, e.g. `redis://127.0.0.1:23456`. */
  readonly url: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly pid: number;
  /** TLS files when started with `tls: true`. */
  readonly tls: TlsFiles | undefined;
  /** True between freeze() and resume(). */
  readonly frozen: boolean;
  /** True once the process has exited (kill/stop). */
  readonly stopped: boolean;
  /** SIGKILL, waits until the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the port still accepts TCP connections (kernel backlog) but nothing answers. */
  freeze(): Promise<void>;
  /** SIGCONT. */
  resume(): Promise<void>;
  /** Kill (if running) and start again on the same port, with empty data; waits until it answers PING. */
  restart(): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after 2 s). Idempotent. */
  stop(): Promise<void>;
}
