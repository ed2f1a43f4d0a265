import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopAll } from '@x/testkit';
import type { BenchCase, BenchContext } from './_internal/context';
import { type FailoverRow, type Row, renderFailover, renderRows } from './_internal/report';

interface CaseEntry {
  id: number;
  name: string;
  aliases: string[];
  load(): Promise<BenchCase>;
}

// Cases are imported lazily: one that cannot load (a package not built yet, a broken import)
// shows up as a failed row instead of taking the whole run down.
const CASES: CaseEntry[] = [
  {
    id: 1,
    name: 'hybrid-redis',
    aliases: ['hybrid', 'client', 'redis'],
    load: async () => (await import('./cases/hybrid-redis')).hybridRedisCase,
  },
  {
    id: 2,
    name: 'memory',
    aliases: ['fallback', 'cache', 'getorset', 'hybrid'],
    load: async () => (await import('./cases/memory')).memoryCase,
  },
  {
    id: 3,
    name: 'breaker',
    aliases: ['guard'],
    load: async () => (await import('./cases/breaker')).breakerCase,
  },
  {
    id: 4,
    name: 'ratelimit',
    aliases: ['rate', 'limiter'],
    load: async () => (await import('./cases/ratelimit')).ratelimitCase,
  },
  {
    id: 5,
    name: 'lock',
    aliases: ['locks', 'mutex'],
    load: async () => (await import('./cases/lock')).lockCase,
  },
  {
    id: 6,
    name: 'failover',
    aliases: ['fault', 'chaos'],
    load: async () => (await import('./cases/failover')).failoverCase,
  },
  {
    id: 7,
    name: 'otel',
    aliases: ['observability', 'opentelemetry'],
    load: async () => (await import('./cases/otel')).otelCase,
  },
  {
    id: 8,
    name: 'near-hit',
    aliases: ['near', 'near-cache', 'memory-bound'],
    load: async () => (await import('./cases/near-hit')).nearHitCase,
  },
  {
    id: 9,
    name: 'near-zipf',
    aliases: ['near', 'near-cache', 'zipf'],
    load: async () => (await import('./cases/near-zipf')).nearZipfCase,
  },
  {
    id: 10,
    name: 'near-coherence',
    aliases: ['near', 'near-cache', 'invalidation', 'fail-safe'],
    load: async () => (await import('./cases/near-invalidation')).nearInvalidationCase,
  },
];

const USAGE = `usage: pnpm bench [-- [--quick] [--strict] [case ...]]
  --quick    fewer rounds and shorter runs (a smoke run; figures are noisier)
  --strict   exit 1 when a bar is not met
  case       a number (1-10) or name: ${CASES.map((c) => c.name).join(', ')}`;

function parseArgs(argv: string[]): { quick: boolean; strict: boolean; filters: string[] } {
  const filters: string[] = [];
  let quick = false;
  let strict = false;
  for (const arg of argv) {
    if (arg === '--') continue;
    else if (arg === '--quick' || arg === '-q') quick = true;
    else if (arg === '--strict') strict = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith('-')) {
      console.error(`unknown option ${arg}\n${USAGE}`);
      process.exit(2);
    } else filters.push(arg.toLowerCase());
  }
  return { quick, strict, filters };
}

function selected(entry: CaseEntry, filters: string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some(
    (f) =>
      f === String(entry.id) || entry.name.includes(f) || entry.aliases.some((a) => a.includes(f)),
  );
}

async function main(): Promise<void> {
  const { quick, strict, filters } = parseArgs(process.argv.slice(2));
  const cases = CASES.filter((c) => selected(c, filters));
  if (cases.length === 0) {
    console.error(`no case matches ${filters.join(' ')}\n${USAGE}`);
    process.exit(2);
  }
  const ctx: BenchContext = {
    quick,
    rounds: quick ? 2 : 10,
    log: (message) => process.stderr.write(`[bench] ${message}\n`),
  };
  const loadBefore = loadavg()[0]!;
  const started = performance.now();
  const rows: Row[] = [];
  const failover: FailoverRow[] = [];
  for (const entry of cases) {
    const t0 = performance.now();
    ctx.log(`case ${entry.id} ${entry.name}...`);
    let timer: NodeJS.Timeout | undefined;
    try {
      const benchCase = await entry.load();
      const limitMs = (quick ? 2 : 4) * 60_000;
      const result = await Promise.race([
        benchCase.run(ctx),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`case did not finish within ${limitMs / 1000} s`)),
            limitMs,
          );
        }),
      ]);
      rows.push(...result.rows);
      if (result.failover) failover.push(...result.failover);
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      ctx.log(
        `case ${entry.id} ${entry.name} failed: ${error instanceof Error ? error.stack : message}`,
      );
      rows.push({
        case: `${entry.id} ${entry.name}`,
        subject: '(case did not run)',
        bar: 'runs',
        met: false,
        note: message.slice(0, 160),
      });
    } finally {
      clearTimeout(timer);
      await stopAll();
    }
    ctx.log(
      `case ${entry.id} ${entry.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const notMet = rows.filter((r) => r.met === false);

  const header = [
    `# x benchmarks`,
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ` +
      `${quick ? 'quick run' : `${ctx.rounds} rounds per pair`} · ${seconds.toFixed(0)} s · ` +
      `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
    '',
    'ratio = ours / peer throughput (higher is better); latencies per call; micro cases show the cost per call.',
    '',
  ];
  const out = [...header, renderRows(rows)];
  if (failover.length > 0) out.push('', '## Failover under load', '', renderFailover(failover));
  if (unhandled.length > 0) {
    out.push('', `## Unhandled rejections: ${unhandled.length}`, '');
    for (const u of [...new Set(unhandled)].slice(0, 10)) out.push(`- ${u.slice(0, 200)}`);
  }
  out.push('', '## Bars not met', '');
  if (notMet.length === 0) out.push('none');
  else
    for (const r of notMet)
      out.push(`- ${r.case} · ${r.subject}: ${r.bar ?? ''}${r.note ? ` (${r.note})` : ''}`);
  console.log(out.join('\n'));

  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const full = filters.length === 0 && !quick;
  const file = join(dir, full ? 'latest.json' : 'partial.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        loadAverage: [loadBefore, loadavg()[0]],
        quick,
        cases: cases.map((c) => c.name),
        seconds: Math.round(seconds),
        rows,
        failover,
        unhandledRejections: unhandled.length,
        notMet: notMet.map((r) => `${r.case} · ${r.subject}: ${r.bar ?? ''}`),
      },
      (_k, v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v),
      1,
    )}\n`,
  );
  ctx.log(`results written to ${file}`);
  process.exit(strict && notMet.length > 0 ? 1 : 0);
}

// A library bug must not end the run: note it, and say so in the report.
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => {
  const text = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  unhandled.push(text);
  process.stderr.write(`[bench] unhandled rejection: ${text}\n`);
});

process.once('SIGINT', () => {
  void stopAll().finally(() => process.exit(130));
});

main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
