import { Worker } from 'node:worker_threads';

// Runs in a worker thread, so it keeps time even while the main thread is starved by a closed
// loop of microtasks: PINGs the port every 2 ms (50 ms per try) until +PONG, then reports the
// moment (in the main thread's performance.now() time base).
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const origin = workerData.origin;
const now = () => performance.timeOrigin + performance.now() - origin;
function once(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (ok) => { if (done) return; done = true; clearTimeout(timer); socket.destroy(); resolve(ok); };
    const timer = setTimeout(() => finish(false), 50);
    socket.on('connect', () => socket.write('PING\\r\\n'));
    socket.on('data', (d) => finish(d.toString().startsWith('+PONG')));
    socket.on('error', () => finish(false));
  });
}
parentPort.on('message', async (port) => {
  for (;;) {
    if (await once(port)) { parentPort.postMessage(now()); return; }
    await new Promise((r) => setTimeout(r, 2));
  }
});
`;

/** Measures, from another thread, when a Redis port answers PING again. */
export class AnswerProbe {
  readonly #worker: Worker;
  #answered: Promise<number> | undefined;

  constructor() {
    this.#worker = new Worker(SOURCE, {
      eval: true,
      workerData: { origin: performance.timeOrigin },
    });
    this.#worker.unref();
  }

  /** Starts probing `port`; the promise settles with the time of the first PONG. */
  watch(port: number): Promise<number> {
    this.#answered = new Promise((resolve) => this.#worker.once('message', resolve));
    this.#worker.postMessage(port);
    return this.#answered;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
