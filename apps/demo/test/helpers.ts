import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { buildApp, type DemoApp } from '../src/app';
import type { DemoOptions } from '../src/options';

/** A demo listening on a free loopback port, plus what it logged. */
export interface RunningDemo {
  demo: DemoApp;
  url: string;
  /** Every log line so far, parsed. */
  logs: Array<{ level: number; msg: string; [key: string]: unknown }>;
  close(): Promise<void>;
}

/** Options that make transitions show within a second or two. */
export const FAST: DemoOptions = {
  probeIntervalMs: 200,
  startupProbeTimeoutMs: 1_000,
  operationTimeoutMs: 150,
  healthIntervalMs: 200,
  healthTimeoutMs: 200,
  healthFailureThreshold: 2,
  sourceDelayMs: 60,
  jobDurationMs: 400,
  rateLimits: { auth: { limit: 30, windowMs: 60_000 } },
};

/** Builds the demo in-process and listens on port 0 (a free port). */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const logs: RunningDemo['logs'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) logs.push(JSON.parse(line));
      }
      callback();
    },
  });
  const demo = await buildApp({ ...FAST, logger: { level: 'info', stream }, ...options });
  await demo.app.listen({ port: 0, host: '127.0.0.1' });
  const address = demo.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { demo, url: `http://127.0.0.1:${address.port}`, logs, close: () => demo.close() };
}

/** The `sid=...` pair of a response's Set-Cookie, for the next request's Cookie header. */
export function sessionCookie(res: Response): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
  if (!line) throw new Error('no sid cookie set');
  return line.split(';')[0]!;
}

/** Asserts the standard rate-limit headers are present and sane. */
export function expectRateLimitHeaders(res: Response): void {
  expect(Number(res.headers.get('ratelimit-limit'))).toBeGreaterThan(0);
  expect(Number(res.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
  expect(res.headers.get('ratelimit-reset')).toMatch(/^\d+$/);
}

/** The JSON body of a response, loosely typed for assertions. */
export function json(res: Response): Promise<any> {
  return res.json();
}

/** JSON POST. */
export function post(url: string, body?: unknown, cookie?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (cookie) headers.cookie = cookie;
  return fetch(url, {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** GET with an optional cookie. */
export function get(url: string, cookie?: string): Promise<Response> {
  return fetch(url, cookie ? { headers: { cookie } } : {});
}

/** Reads server-sent events from `/events` until `until` matches one (bounded by `timeoutMs`). */
export async function readEvents(
  url: string,
  until: (event: { type: string; data: Record<string, unknown> }) => boolean,
  timeoutMs: number,
  onOpen?: () => Promise<unknown>,
): Promise<Array<{ type: string; data: Record<string, unknown>; via: string; seq: number }>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const seen: Array<{ type: string; data: Record<string, unknown>; via: string; seq: number }> = [];
  try {
    const res = await fetch(`${url}/events`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expectRateLimitHeaders(res);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let opened = false;
    for (;;) {
      if (!opened && onOpen) {
        opened = true;
        await onOpen();
      }
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data) {
          const event = JSON.parse(data);
          seen.push(event);
          if (until(event)) {
            controller.abort();
            return seen;
          }
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(
    `event not seen within ${timeoutMs} ms; saw: ${seen.map((e) => e.type).join(', ')}`,
  );
}
