import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const PROMTOOL = process.env.PROMTOOL_PATH || '/usr/bin/promtool';

/**
 * `promtool check metrics` on an exposition: its exit code and what it printed. Rejects with an
 * install hint when promtool cannot be run (the test then fails saying how to get it).
 */
export function promtoolCheck(
  exposition: string,
): Promise<{ code: number | null; output: string }> {
  const bin = existsSync(PROMTOOL) ? PROMTOOL : 'promtool';
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', (error) =>
      reject(
        new Error(
          `promtool is needed to check /metrics and could not be run (${error.message}): install it with \`apt-get install -y prometheus\` (Debian/Ubuntu) or from prometheus.io, or set PROMTOOL_PATH`,
        ),
      ),
    );
    // promtool may exit before reading everything: a closed stdin is not an error here.
    child.stdin.on('error', () => {});
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(exposition);
  });
}

/** The value of the one sample of `name` whose labels include every `labels` pair, or `undefined`. */
export function sample(
  exposition: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return undefined;
}
