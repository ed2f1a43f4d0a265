#!/usr/bin/env node
// Writes the `repository` field of every published package from the repository the release runs in
// (npm provenance checks that it names the GitHub repository that built the package). Run by the
// release workflow before `pnpm release`, with GITHUB_SERVER_URL and GITHUB_REPOSITORY set by
// GitHub Actions; the change is not committed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
const repository = process.env.GITHUB_REPOSITORY;
if (!repository) {
  console.error('set-repository: GITHUB_REPOSITORY is not set (owner/name of the repository)');
  process.exit(2);
}
for (const name of readdirSync(join(root, 'packages'))) {
  const file = join(root, 'packages', name, 'package.json');
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    continue;
  }
  if (manifest.private) continue;
  manifest.repository = {
    type: 'git',
    url: `git+${server}/${repository}.git`,
    directory: `packages/${name}`,
  };
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`${manifest.name}: repository ${server}/${repository} (packages/${name})`);
}
