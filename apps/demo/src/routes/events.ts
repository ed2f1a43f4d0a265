import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { DemoEvent, EventBus } from '../events';

/** A client that stops reading is dropped once this much is queued for it (no unbounded buffer). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;
/** Open streams at most (each holds a socket and a listener). */
const MAX_STREAMS = 200;

/**
 * `GET /events`: server-sent events fed by the event bus (pub/sub through Redis, or in-process).
 * A new client first gets the recent events it has not seen (`Last-Event-ID`), then live ones.
 */
export function registerEventRoutes(app: FastifyInstance, bus: EventBus): void {
  // Each open stream with the function that detaches it from the bus and stops its heartbeat.
  const streams = new Map<ServerResponse, () => void>();

  app.get('/events', (request, reply) => {
    if (streams.size >= MAX_STREAMS) {
      reply
        .code(503)
        .header('retry-after', '5')
        .send({
          error: 'too_many_streams',
          message: `At most ${MAX_STREAMS} event streams at once; retry later.`,
        });
      return;
    }
    // The stream outlives the handler: write to the raw response ourselves.
    reply.hijack();
    const res = reply.raw;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = String(value);
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');

    let unlisten: () => void = () => {};
    // Never write after the stream ended (the client left, or the app is closing).
    const writable = (): boolean => !res.writableEnded && !res.destroyed;
    const heartbeat = setInterval(() => {
      if (writable()) res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const cleanup = (): void => {
      clearInterval(heartbeat);
      unlisten();
      streams.delete(res);
    };
    const send = (event: DemoEvent): void => {
      if (!writable()) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        cleanup();
        return;
      }
      res.write(`id: ${event.seq}\nevent: message\ndata: ${JSON.stringify(event)}\n\n`);
    };

    const lastSeen = Number(request.headers['last-event-id']);
    for (const event of bus.recent()) {
      if (!(event.seq <= lastSeen)) send(event);
    }
    unlisten = bus.listen(send);
    streams.set(res, cleanup);
    res.on('close', cleanup);
  });

  // Open streams would keep `app.close()` waiting forever: end them first.
  app.addHook('preClose', async () => {
    for (const [res, cleanup] of [...streams]) {
      cleanup();
      res.end();
    }
  });
}
