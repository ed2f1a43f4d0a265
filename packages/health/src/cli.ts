#!/usr/bin/env node
// x-redis-check: the thin command-line wrapper around runCheck() (the logic lives in check.ts).
import { parseArgs } from 'node:util';
import { type RunCheckOptions, runCheck } from './check.js';
import { isHealthError } from './errors.js';

const HELP = `usage: x-redis-check [options] [redis://[user:password@]host:port[/db]]

Checks whether a Redis server is usable: connects (no retries), authenticates, measures PING
latency, prints server stats and what a failover-ready setup still lacks.
The URL defaults to $REDIS_URL.

options:
  --timeout <ms>       deadline of the connection and of each command (default 2000)
  --pings <n>          PINGs used to measure latency (default 5)
  --usage cache|store  what the server is for: tunes the advice (default cache)
  --ca <file>          CA certificate (PEM) to trust for rediss://
  --insecure           accept any TLS certificate (development servers only)
  --json               print the report as JSON
  -h, --help           show this help

exit codes: 0 usable, 1 unusable (the reason is printed), 2 bad usage`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let url: string | undefined;
  let options: RunCheckOptions | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        pings: { type: 'string' },
        usage: { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    url = positionals[0] ?? (process.env.REDIS_URL || undefined);
    if (url === undefined || positionals.length > 1) {
      throw new UsageError(
        'expected one Redis URL, e.g. x-redis-check redis://:password@127.0.0.1:6379 (or set REDIS_URL)',
      );
    }
    options = { json: values.json === true };
    if (values.timeout !== undefined) options.timeoutMs = toInt('--timeout', values.timeout);
    if (values.pings !== undefined) options.pings = toInt('--pings', values.pings);
    if (values.usage !== undefined) options.usage = values.usage as 'cache' | 'store';
    if (values.ca !== undefined) options.caFile = values.ca;
    if (values.insecure === true) options.insecure = true;
  } catch (error) {
    // parseArgs throws TypeErrors for unknown flags and missing values.
    process.stderr.write(`x-redis-check: ${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  try {
    const { exitCode, output } = await runCheck(url, options);
    const stream = exitCode === 0 || options.json ? process.stdout : process.stderr;
    stream.write(`${output}\n`);
    return exitCode;
  } catch (error) {
    if (!isHealthError(error)) throw error;
    process.stderr.write(`x-redis-check: ${error.message.replace('[@x/health] ', '')}\n`);
    return 2;
  }
}

function toInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${flag} expects a whole number, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug of the check itself, not a verdict on the server: say so.
    process.stderr.write(
      `x-redis-check: unexpected error (a bug of x-redis-check, not a verdict on the server): ${String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
