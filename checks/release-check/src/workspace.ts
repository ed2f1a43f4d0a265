import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const rootDir = fileURLToPath(new URL('../../..', import.meta.url));

/** A workspace package as its package.json describes it. */
export interface WorkspacePackage {
  name: string;
  version: string;
  /** Folder relative to the root, e.g. `packages/lock`. */
  path: string;
  private: boolean;
  manifest: Record<string, any>;
}

// The folders of pnpm-workspace.yaml. Read from the file so a new folder is seen: its entries
// are simple globs (`packages/*`, `bench`), which is all this understands.
function workspaceGlobs(root: string): string[] {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const section = text.split(/^packages:\s*$/m)[1] ?? '';
  const globs: string[] = [];
  for (const line of section.split('\n')) {
    const match = /^\s+-\s+['"]?([^'"#\s]+)['"]?/.exec(line);
    if (match) globs.push(match[1]!);
    else if (/^\S/.test(line)) break;
  }
  return globs;
}

function read(root: string, path: string): WorkspacePackage | undefined {
  const file = join(root, path, 'package.json');
  if (!existsSync(file)) return undefined;
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  return {
    name: manifest.name,
    version: manifest.version,
    path,
    private: manifest.private === true,
    manifest,
  };
}

/** Every package of the workspace (the root excluded), sorted by name. */
export function workspacePackages(root: string = rootDir): WorkspacePackage[] {
  const found: WorkspacePackage[] = [];
  for (const glob of workspaceGlobs(root)) {
    if (glob.endsWith('/*')) {
      const base = glob.slice(0, -2);
      if (!existsSync(join(root, base))) continue;
      for (const entry of readdirSync(join(root, base), { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const pkg = read(root, `${base}/${entry.name}`);
        if (pkg) found.push(pkg);
      }
    } else {
      const pkg = read(root, glob);
      if (pkg) found.push(pkg);
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The packages that get published: every `packages/*` whose package.json is not
 * `"private": true`. Found at run time, so a new package is covered with no change here.
 */
export function publishedPackages(root: string = rootDir): WorkspacePackage[] {
  return workspacePackages(root).filter((p) => p.path.startsWith('packages/') && !p.private);
}

/** Names of the private workspace packages (and the root's), which must never be published. */
export function privateNames(root: string = rootDir): string[] {
  const rootName = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name as string;
  return [
    rootName,
    ...workspacePackages(root)
      .filter((p) => p.private)
      .map((p) => p.name),
  ];
}

/**
 * The third-party packages a published package brings with it: the `dependencies` of the
 * package and of every workspace package it depends on, transitively.
 */
export function externalDependencyClosure(
  name: string,
  packages: WorkspacePackage[] = workspacePackages(),
): Set<string> {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (pkgName: string) => {
    if (seen.has(pkgName)) return;
    seen.add(pkgName);
    const deps = Object.keys(byName.get(pkgName)?.manifest.dependencies ?? {});
    for (const dep of deps) {
      if (byName.has(dep)) visit(dep);
      else external.add(dep);
    }
  };
  visit(name);
  return external;
}

/** Third-party `dependencies` declared by any published package. */
export function allExternalDependencies(packages: WorkspacePackage[] = workspacePackages()) {
  const names = new Set(packages.map((p) => p.name));
  const external = new Set<string>();
  for (const pkg of packages) {
    if (pkg.private || !pkg.path.startsWith('packages/')) continue;
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) {
      if (!names.has(dep)) external.add(dep);
    }
  }
  return external;
}
