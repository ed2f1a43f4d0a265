import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { rootDir } from './workspace';

/**
 * A throwaway copy of the repository to release from, so `changeset version` and
 * `changeset publish` (which bumps versions, writes changelogs, deletes changesets and tags)
 * never touch the checkout. The copy is its own git repository with one commit.
 *
 * `source`:
 * - `'worktree'` (default): the files git knows or would add (tracked, plus untracked files
 *   that are not ignored), as they are on disk: what the next commit would release.
 * - `'HEAD'`: the last commit, ignoring uncommitted work.
 */
export function copyRepository(source: 'worktree' | 'HEAD' = 'worktree'): string {
  const dir = mkdtempSync(join(tmpdir(), 'x-release-'));
  if (source === 'HEAD') {
    const archive = execFileSync('git', ['archive', '--format=tar', 'HEAD'], {
      cwd: rootDir,
      maxBuffer: 512 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  } else {
    const list = execFileSync(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      { cwd: rootDir, maxBuffer: 64 * 1024 * 1024 },
    )
      .toString('utf8')
      .split('\0')
      .filter(Boolean);
    for (const file of new Set(list)) {
      const from = join(rootDir, file);
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(from);
      } catch {
        continue; // deleted in the work tree: not part of the next commit either
      }
      const to = join(dir, file);
      mkdirSync(dirname(to), { recursive: true });
      if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else if (stat.isFile()) copyFileSync(from, to);
    }
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  // `changeset publish` tags every release: the copy needs an identity of its own.
  git('config', 'user.name', 'x release check');
  git('config', 'user.email', 'release-check@x.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('config', 'tag.gpgsign', 'false');
  git('add', '-A');
  git('commit', '-q', '--no-verify', '-m', 'release check snapshot');
  return dir;
}
