// Every name the two entry points export must explain itself in the API
// reference that typedoc builds from the doc comments. This walks the exports
// with the TypeScript compiler, following re-exports to the declarations, and
// lists every offender in one failure so they can all be fixed at once.
//
// What is required:
// - every exported name: a doc comment with a description;
// - functions (a `const` initialised with a function counts), classes, and
//   each public method of an exported class: also an `@example`;
// - public getters of an exported class: a description;
// - interfaces, type aliases and other constants: a description suffices.
// Members tagged `@internal` are not part of the public surface and are skipped
// (typedoc.json excludes them from the reference too).
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY_POINTS = ['src/index.ts', 'src/operators/index.ts', 'src/postgres/index.ts'];

interface Offender {
  readonly name: string;
  readonly file: string;
  readonly missing: string;
}

function compile(): ts.Program {
  const configPath = resolve(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return ts.createProgram(
    ENTRY_POINTS.map((entry) => resolve(root, entry)),
    { ...parsed.options, noEmit: true },
  );
}

const hasTag = (tags: readonly ts.JSDocTagInfo[], name: string): boolean => tags.some((tag) => tag.name === name);

function description(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

/** A `function`, or a `const` whose initialiser is a function expression. */
function isFunctionLike(declaration: ts.Declaration): boolean {
  if (ts.isFunctionDeclaration(declaration)) return true;
  if (!ts.isVariableDeclaration(declaration) || declaration.initializer === undefined) return false;
  let initializer: ts.Expression = declaration.initializer;
  while (ts.isParenthesizedExpression(initializer) || ts.isAsExpression(initializer) || ts.isSatisfiesExpression(initializer)) {
    initializer = initializer.expression;
  }
  return ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer);
}

function isPublicMember(member: ts.ClassElement): boolean {
  if (member.name === undefined || ts.isPrivateIdentifier(member.name)) return false;
  const flags = ts.getCombinedModifierFlags(member as ts.Declaration);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
}

function findOffenders(): { offenders: Offender[]; checked: string[] } {
  const program = compile();
  const checker = program.getTypeChecker();
  const offenders: Offender[] = [];
  const checked: string[] = [];
  const seen = new Set<ts.Symbol>();
  const fileOf = (node: ts.Node): string => relative(root, node.getSourceFile().fileName);

  for (const entry of ENTRY_POINTS) {
    const source = program.getSourceFile(resolve(root, entry));
    if (source === undefined) throw new Error(`entry point ${entry} is not in the program`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`entry point ${entry} has no exports`);

    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      // A name re-exported by both entry points is checked once.
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      const declaration = symbol.declarations?.[0];
      if (declaration === undefined) continue;
      const name = exported.getName();
      const file = fileOf(declaration);
      checked.push(name);

      const tags = symbol.getJsDocTags(checker);
      const needsExample = ts.isClassDeclaration(declaration) || isFunctionLike(declaration);
      if (description(symbol, checker) === '') offenders.push({ name, file, missing: 'doc comment' });
      if (needsExample && !hasTag(tags, 'example')) offenders.push({ name, file, missing: '@example' });

      if (!ts.isClassDeclaration(declaration)) continue;
      for (const member of declaration.members) {
        const isMethod = ts.isMethodDeclaration(member);
        const isGetter = ts.isGetAccessorDeclaration(member);
        if ((!isMethod && !isGetter) || !isPublicMember(member)) continue;
        const memberSymbol = checker.getSymbolAtLocation(member.name!);
        if (memberSymbol === undefined) continue;
        const memberTags = memberSymbol.getJsDocTags(checker);
        if (hasTag(memberTags, 'internal')) continue;
        const isStatic = (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) !== 0;
        const memberName = `${name}${isStatic ? '.' : '#'}${memberSymbol.getName()}`;
        checked.push(memberName);
        // A getter's doc comment may sit on its setter; either will do.
        if (description(memberSymbol, checker) === '') offenders.push({ name: memberName, file, missing: 'doc comment' });
        if (isMethod && !hasTag(memberTags, 'example')) offenders.push({ name: memberName, file, missing: '@example' });
      }
    }
  }
  return { offenders, checked };
}

describe('doc comments of the public API', () => {
  const { offenders, checked } = findOffenders();

  it('sees the names the API fixes, through the re-exports', () => {
    for (const name of [
      'Barrier',
      'Barrier#enter',
      'Barrier.fromSnapshot',
      'Barrier#size',
      'BarrierStore',
      'BarrierStore#sync',
      'pull',
      'UnsupportedStateError',
      'IllegalJobSequenceError',
      'JobState',
      'barrierEnter',
      'barrierWait',
      'barrierState',
      'concatMapByKey',
      'orderedDelivery',
      'JobStatus',
      'DeliveryResult',
    ]) {
      expect(checked).toContain(name);
    }
  });

  it('every exported name has a doc comment, and every function, class and public method an @example', () => {
    const report = offenders.map(({ name, file, missing }) => `  ${name} (${file}): no ${missing}`).join('\n');
    expect(offenders, `exports missing documentation:\n${report}`).toEqual([]);
  });
});
