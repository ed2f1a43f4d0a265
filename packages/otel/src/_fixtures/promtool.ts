import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const PROMTOOL = '/usr/bin/promtool';

/** `promtool check metrics` on `text`: its exit code and what it said. */
export function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
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
          `promtool is needed for this test and could not be run (${(error as Error).message}): install it with "apt-get install -y prometheus" (Debian) or from prometheus.io`,
        ),
      ),
    );
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
