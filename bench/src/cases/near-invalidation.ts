import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHybridClient, type HybridClient } from '@x/hybrid-client';
import { Redis } from 'ioredis';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { trackedHybrid } from '../_internal/near';
import { benchRedis, keys } from '../_internal/redis';
import type { Row } from '../_internal/report';
import { percentile } from '../_internal/stats';

const CASE = '10 near-cache coherence';
const INSTANCES = 4;
const BAR_P99_MS = 2;
const BAR_HIT_RATIO = 0.99;

/**
 * ms on the machine's monotonic clock (`CLOCK_MONOTONIC`, what `process.hrtime` reads): one time
 * base for every process of the machine. (`performance.timeOrigin + performance.now()` is not:
 * each process anchors it to the wall clock when it starts, and the wall clock is slewed against
 * the monotonic one, so two processes started minutes apart disagree by a fraction of a ms.)
 */
const clock = (): number => Number(process.hrtime.bigint()) / 1e6;

// The writer: another process, plain ioredis. For each line it reads (a value), it writes the key
// and prints the moment the write was acknowledged.
const WRITER = `
const { Redis } = require('ioredis');
const r = new Redis(Number(process.argv[1]));
const clock = () => Number(process.hrtime.bigint()) / 1e6;
require('node:readline').createInterface({ input: process.stdin }).on('line', async (value) => {
  if (value === 'quit') { await r.quit(); process.exit(0); }
  await r.set(process.argv[2], value);
  process.stdout.write(value + ' ' + clock() + '\\n');
});
`;

function trackedClient(url: string): Promise<HybridClient> {
  return trackedHybrid({ redis: url, timeoutMs: 250 });
}

/**
 * Case 10, invalidation delay: another process writes a key that 4 hybrid clients of this
 * process keep reading (each in its own loop that lets the event loop turn between reads); for
 * each write, the time from its acknowledgement (in the writer) until the last of the 4 clients
 * stops serving the old value. Then the fail-safe: 1 000 keys read in the minute before a 4 s
 * outage (SIGKILL), read again during it: the share of reads that find their value, with and
 * without the near cache.
 */
export const nearInvalidationCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const writes = ctx.quick ? 100 : 400;
    const redis = await benchRedis();
    const key = 'coherence:k';
    const seed = new Redis(redis.url);
    await seed.set(key, 'v0');
    seed.disconnect();
    const clients: HybridClient[] = [];
    for (let i = 0; i < INSTANCES; i++) clients.push(await trackedClient(redis.url));

    // Each instance reads in a loop (letting the event loop turn between reads). Before each
    // write, every instance holds a copy of the current value (its reads are near hits); after it,
    // each notes the first read that is no longer served from that copy: from the moment that
    // read began, the instance no longer serves the old value (`stoppedAt`). The moment that read
    // returned (the new value, after a round trip to Redis) is noted too (`answeredAt`).
    const armed = clients.map(() => false);
    const stoppedAt = clients.map(() => Number.NaN);
    const answeredAt = clients.map(() => Number.NaN);
    const nearOf = clients.map(() => '');
    let stop = false;
    const readers = clients.map(async (c, i) => {
      while (!stop) {
        const began = clock();
        const entry = await c.getEntry(key);
        if (entry?.source === 'near') nearOf[i] = entry.value;
        else if (armed[i] && Number.isNaN(stoppedAt[i]!)) {
          stoppedAt[i] = began;
          answeredAt[i] = clock();
        }
        // Spin (one read per event-loop turn) only around a write: idle readers would take the
        // CPU the writer and Redis need, on a 2-core machine.
        if (armed[i]) await new Promise((r) => setImmediate(r));
        else await new Promise((r) => setTimeout(r, 1));
      }
    });
    const writer = spawn(process.execPath, ['-e', WRITER, String(redis.port), key], {
      stdio: ['pipe', 'pipe', 'inherit'],
      cwd: process.cwd(),
    });
    const acks = new Map<string, number>();
    const lines = createInterface({ input: writer.stdout! });
    let pending: (() => void) | undefined;
    lines.on('line', (line) => {
      const [value, at] = line.split(' ');
      acks.set(value!, Number(at));
      pending?.();
    });
    const delays: number[] = [];
    const answerDelays: number[] = [];
    let missed = 0;
    const until = async (check: () => boolean): Promise<boolean> => {
      const t0 = performance.now();
      while (!check()) {
        if (performance.now() - t0 > 1_000) return false;
        await new Promise((r) => setTimeout(r, 1));
      }
      return true;
    };
    for (let i = 1; i <= writes; i++) {
      const current = `v${i - 1}`;
      // Every instance serves the current value from its copy.
      if (!(await until(() => nearOf.every((v) => v === current)))) {
        missed++;
        continue;
      }
      for (let c = 0; c < clients.length; c++) {
        stoppedAt[c] = Number.NaN;
        answeredAt[c] = Number.NaN;
        armed[c] = true;
      }
      // Let every reader wake from its idle sleep and spin before the write.
      await new Promise((r) => setTimeout(r, 3));
      const value = `v${i}`;
      const acked = new Promise<void>((resolve) => {
        pending = resolve;
      });
      writer.stdin!.write(`${value}\n`);
      await acked;
      const done = await until(() => stoppedAt.every((t) => !Number.isNaN(t)));
      for (let c = 0; c < clients.length; c++) armed[c] = false;
      if (!done) {
        missed++;
        continue;
      }
      // The invalidation leaves Redis before the write's reply: a copy may stop being served
      // before the writer even hears back (0 then).
      delays.push(Math.max(0, Math.max(...stoppedAt) - acks.get(value)!));
      answerDelays.push(Math.max(0, Math.max(...answeredAt) - acks.get(value)!));
    }
    stop = true;
    writer.stdin!.write('quit\n');
    await Promise.all(readers);
    const nearStats = clients[0]!.stats().near!;
    for (const c of clients) await c.close();
    const sorted = Float64Array.from(delays).sort();
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const max = sorted[sorted.length - 1]!;
    const answered = Float64Array.from(answerDelays).sort();
    const rows: Row[] = [
      {
        case: CASE,
        subject: `invalidation delay, ${INSTANCES} instances, writes by another process`,
        p50Ms: p50,
        p99Ms: p99,
        maxMs: max,
        bar: `p99 ≤ ${BAR_P99_MS} ms`,
        met: p99 <= BAR_P99_MS && missed === 0,
        note: `${delays.length} writes measured${missed > 0 ? `, ${missed} NOT SEEN within 1 s` : ''}; from the writer's acknowledgement until the last of the instances stops serving its copy of the old value (the start of its first read not served by that copy); until the last one's re-read returned the new value: p50 ${percentile(answered, 0.5).toFixed(2)} ms, p99 ${percentile(answered, 0.99).toFixed(2)} ms; ${nearStats.invalidations} invalidations seen by one instance`,
      },
    ];

    // ---- the fail-safe through a 4 s outage -------------------------------------------------------
    for (const nearCache of [true, false]) {
      const server = await benchRedis();
      const hot = keys('hot', 1_000);
      const w = new Redis(server.url);
      await w.mset(...hot.flatMap((k) => [k, `value of ${k}`]));
      w.disconnect();
      const c = nearCache
        ? await trackedClient(server.url)
        : await createHybridClient({ redis: server.url, logger: false, nearCache: false });
      // Read in the minute before the fault (twice: the second pass is served by copies).
      for (let pass = 0; pass < 2; pass++) for (const k of hot) await c.get(k);
      await server.kill();
      const t0 = performance.now();
      let reads = 0;
      let found = 0;
      let staleMarked = 0;
      while (performance.now() - t0 < 4_000) {
        for (const k of hot) {
          reads++;
          const entry = await c.getEntry(k);
          if (entry?.value === `value of ${k}`) {
            found++;
            if (entry.stale) staleMarked++;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await c.close();
      const ratio = found / reads;
      rows.push({
        case: CASE,
        subject: `hit ratio in a 4 s outage, ${nearCache ? 'near cache on (default)' : 'nearCache: false'}`,
        ratio,
        bar: nearCache ? `≥ ${BAR_HIT_RATIO * 100} % of reads` : undefined,
        met: nearCache ? ratio >= BAR_HIT_RATIO : undefined,
        note: `${reads} reads of 1 000 keys read before the fault (SIGKILL): ${(ratio * 100).toFixed(2)} % found their value, ${staleMarked} marked stale (ratio = share of reads that found their value)`,
      });
    }
    return { rows };
  },
};
