import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A pending changeset: `.changeset/<id>.md`. */
export interface PendingChangeset {
  id: string;
  /** Package name → bump (`patch` | `minor` | `major`). */
  releases: Record<string, string>;
  summary: string;
}

/** The changesets waiting in `<root>/.changeset`, as `changeset version` will apply them. */
export function pendingChangesets(root: string): PendingChangeset[] {
  const dir = join(root, '.changeset');
  if (!existsSync(dir)) return [];
  const found: PendingChangeset[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.md') || file === 'README.md') continue;
    const text = readFileSync(join(dir, file), 'utf8');
    const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
    if (!match) continue;
    const releases: Record<string, string> = {};
    for (const line of match[1]!.split('\n')) {
      const entry = /^\s*["']?([^"':]+)["']?\s*:\s*(\w+)\s*$/.exec(line);
      if (entry) releases[entry[1]!] = entry[2]!;
    }
    found.push({ id: file.slice(0, -3), releases, summary: match[2]!.trim() });
  }
  return found;
}
