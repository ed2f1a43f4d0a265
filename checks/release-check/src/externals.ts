import { builtinModules } from 'node:module';
import ts from 'typescript';
import type { WorkspacePackage } from './workspace';

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`). */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) {
    return undefined;
  }
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

/** Packages imported by a piece of TypeScript (static imports and `import x = require()`). */
export function importedPackages(code: string): string[] {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true);
  const names = new Set<string>();
  for (const statement of source.statements) {
    let specifier: string | undefined;
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text;
    } else if (
      ts.isImportEqualsDeclaration(statement) &&
      ts.isExternalModuleReference(statement.moduleReference) &&
      ts.isStringLiteral(statement.moduleReference.expression)
    ) {
      specifier = statement.moduleReference.expression.text;
    }
    const name = specifier === undefined ? undefined : packageOf(specifier);
    if (name) names.add(name);
  }
  return [...names];
}

/**
 * The version range the workspace itself uses for a third-party package (a peer range of a
 * published package first, then any other declaration), or `latest`.
 */
export function workspaceRange(name: string, packages: WorkspacePackage[], root: object): string {
  const fields = ['peerDependencies', 'dependencies', 'devDependencies'] as const;
  const manifests = [...packages.map((p) => p.manifest), root as Record<string, any>];
  for (const field of fields) {
    for (const manifest of manifests) {
      const range = manifest[field]?.[name];
      if (typeof range === 'string' && !range.startsWith('workspace:')) return range;
    }
  }
  return 'latest';
}

/** The `@types` package of a package name (`@scope/name` → `@types/scope__name`). */
export function typesPackageOf(name: string): string {
  return `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
}
