// Child process of the multi-process test: for every algorithm, `callers` concurrent loops each
// make `calls` consume() calls on one key per algorithm, all started together at `startAt`.
// Prints one JSON line: per algorithm, the resetAt of each admitted request and the denials.
import { createRateLimiter } from '../index.js';
import type { RateLimitAlgorithm } from '../types.js';

const [url, limit, windowMs, callers, calls, startAt] = process.argv.slice(2);
const algorithms: RateLimitAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'];

const limiters = algorithms.map((algorithm) =>
  createRateLimiter({
    redis: url!,
    algorithm,
    limit: Number(limit),
    windowMs: Number(windowMs),
    timeoutMs: 2000,
  }),
);

// Connect first, so every process starts on a ready client.
await Promise.all(limiters.map((l) => l.peek('warm-up')));
const wait = Number(startAt) - Date.now();
if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

const output: Record<string, { admitted: number[]; denied: number; sources: string[] }> = {};
await Promise.all(
  limiters.map(async (limiter) => {
    const admitted: number[] = [];
    let denied = 0;
    const sources = new Set<string>();
    await Promise.all(
      Array.from({ length: Number(callers) }, async () => {
        for (let i = 0; i < Number(calls); i++) {
          const result = await limiter.consume(`shared:${limiter.algorithm}`);
          sources.add(result.source);
          if (result.allowed) admitted.push(result.resetAt);
          else denied++;
        }
      }),
    );
    output[limiter.algorithm] = { admitted, denied, sources: [...sources] };
  }),
);
await Promise.all(limiters.map((l) => l.close()));
process.stdout.write(`${JSON.stringify(output)}\n`);
