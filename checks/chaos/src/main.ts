// `pnpm chaos [--short] [--soak [minutes]] [scenario ...]`: runs the chaos scenarios, prints one table, and exits
// non-zero when an invariant broke.
import { mkdirSync, writeFileSync } from 'node:fs';
import { stopAll } from '@x/testkit';
import { runScenario, type ScenarioResult } from './controller';
import { formatReport } from './report';
import { type Scenario, SOAK_CYCLE_MS, scenarios, shortScenarios, soakScenario } from './scenarios';

const DEFAULT_SOAK_MINUTES = 10;

const USAGE = `usage: pnpm chaos [-- [--short] [--soak [minutes]] [scenario ...]]
  --short          the scenarios CI runs (${shortScenarios.join(', ')})
  --soak [minutes] one long run with every standalone fault repeated every ${SOAK_CYCLE_MS / 1000} s
                   (default ${DEFAULT_SOAK_MINUTES} minutes); checks that the heap floor does not creep
  scenario         ${scenarios.map((s) => s.name).join(', ')}`;

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const short = args.includes('--short');
const soakAt = args.indexOf('--soak');
let chosen: Scenario[];
if (soakAt >= 0) {
  const given = args[soakAt + 1];
  const minutes =
    given === undefined || given.startsWith('--') ? DEFAULT_SOAK_MINUTES : Number(given);
  if (!Number.isFinite(minutes) || minutes < SOAK_CYCLE_MS / 60_000 || minutes > 24 * 60) {
    console.error(
      `--soak takes minutes between ${SOAK_CYCLE_MS / 60_000} and 1440, got ${given}\n${USAGE}`,
    );
    process.exit(2);
  }
  chosen = [soakScenario(minutes * 60_000)];
} else {
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  chosen = scenarios.filter((s) =>
    names.length ? names.includes(s.name) : !short || shortScenarios.includes(s.name),
  );
  if (unknown.length || chosen.length === 0) {
    console.error(`no such scenario: ${unknown.join(', ')}\n${USAGE}`);
    process.exit(2);
  }
}

const results: ScenarioResult[] = [];
for (const scenario of chosen) {
  process.stdout.write(`running ${scenario.name} (${scenario.durationMs / 1000} s)... `);
  if (scenario.soak) process.stdout.write(`${scenario.steps.length} fault steps... `);
  const result = await runScenario(scenario);
  results.push(result);
  const steps = scenario.soak
    ? `${result.timeline.length} steps, last: ${result.timeline.at(-1)}`
    : result.timeline.join(', ');
  console.log(`${result.violations.length ? 'BROKEN' : 'held'}  [${steps}]`);
}
await stopAll();
const report = formatReport(results);
console.log(`\n${report}\n`);
mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL(`../results/${soakAt >= 0 ? 'soak' : 'latest'}.json`, import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);
process.exit(results.some((r) => r.violations.length) ? 1 : 0);
