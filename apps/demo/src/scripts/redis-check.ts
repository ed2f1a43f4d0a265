// `pnpm redis:check`: @x/health's x-redis-check against REDIS_URL (or the URL given).
// Runs the same check as the `x-redis-check` command (its `runCheck`), from source, so it needs
// no build. Exit code: 0 usable, 1 unusable, 2 bad usage.
import { parseArgs } from 'node:util';
import { isHealthError, runCheck } from '@x/health';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    usage: { type: 'string' },
  },
});
const url = positionals[0] ?? process.env.REDIS_URL;
if (!url) {
  console.error(
    'REDIS_URL is not set. Usage: REDIS_URL=redis://host:port pnpm redis:check [--json] [--timeout ms] [--usage cache|store]',
  );
  process.exit(2);
}

try {
  const { exitCode, output } = await runCheck(url, {
    json: values.json === true,
    ...(values.timeout === undefined ? {} : { timeoutMs: Number(values.timeout) }),
    ...(values.usage === undefined ? {} : { usage: values.usage as 'cache' | 'store' }),
  });
  (exitCode === 0 ? process.stdout : process.stderr).write(`${output}\n`);
  process.exitCode = exitCode;
} catch (error) {
  if (!isHealthError(error)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
