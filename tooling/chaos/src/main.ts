// `pnpm chaos [--short] [scenario ...]`: runs the chaos scenarios, prints one table, and exits
// non-zero when an invariant broke.
import { mkdirSync, writeFileSync } from 'node:fs';
import { stopAll } from '@x/testkit';
import { runScenario, type ScenarioResult } from './controller';
import { formatReport } from './report';
import { scenarios, shortScenarios } from './scenarios';

const args = process.argv.slice(2).filter((a) => a !== '--');
const short = args.includes('--short');
const names = args.filter((a) => !a.startsWith('--'));
const chosen = scenarios.filter((s) =>
  names.length ? names.includes(s.name) : !short || shortScenarios.includes(s.name),
);
if (chosen.length === 0) {
  console.error(`no such scenario; choose from: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const results: ScenarioResult[] = [];
for (const scenario of chosen) {
  process.stdout.write(`running ${scenario.name} (${scenario.durationMs / 1000} s)... `);
  const result = await runScenario(scenario);
  results.push(result);
  console.log(`${result.violations.length ? 'BROKEN' : 'held'}  [${result.timeline.join(', ')}]`);
}
await stopAll();
const report = formatReport(results);
console.log(`\n${report}\n`);
mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../results/latest.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);
process.exit(results.some((r) => r.violations.length) ? 1 : 0);
