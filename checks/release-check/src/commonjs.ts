import ts from 'typescript';

/**
 * The same program as a CommonJS user writes it: the imports stay at the top (TypeScript turns
 * them into `require` calls in a `.cts` file), and the rest, which may use top-level `await`
 * (an ES module feature), moves into an `async function main()` whose failure sets a non-zero
 * exit code.
 */
export function toCommonJsProgram(code: string): string {
  const source = ts.createSourceFile('program.ts', code, ts.ScriptTarget.Latest, true);
  const imports: string[] = [];
  const body: string[] = [];
  for (const statement of source.statements) {
    const text = code.slice(statement.getFullStart(), statement.getEnd());
    if (ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement)) {
      imports.push(text);
      continue;
    }
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    if (
      ts.isExportDeclaration(statement) ||
      ts.isExportAssignment(statement) ||
      modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
    ) {
      throw new Error('a program with exports cannot be wrapped into a CommonJS main()');
    }
    body.push(text);
  }
  const trailing = code.slice(source.statements.at(-1)?.getEnd() ?? 0);
  return [
    imports.join('').replace(/^\n+/, ''),
    '',
    'async function main(): Promise<void> {',
    `${body.join('')}${trailing.trimEnd()}`,
    '}',
    '',
    'main().catch((error: unknown) => {',
    '  console.error(error);',
    '  process.exitCode = 1;',
    '});',
    '',
  ].join('\n');
}
