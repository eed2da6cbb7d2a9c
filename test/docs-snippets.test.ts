/**
 * The code in the docs compiles against the real packages: every ```ts / ```js block of the READMEs and the
 * core's topic pages, and every `@example` block on a public export of core and the adapters.
 *
 * Each block is one module of a single TypeScript program (the workspace's tsconfig: strict, NodeNext,
 * the `source` condition), placed in test/ so the workspace packages and the frameworks resolve.
 *
 * The prelude rule. A block is compiled as written. It may use, without importing or declaring them:
 * 1. a name exported by its home package (the package whose README or source it is in; the root docs:
 *    `@tokenguard/express`), or else by `@tokenguard/core`, or the home framework's FRAMEWORK names:
 *    imported from there;
 * 2. a name of CONTEXT below (the app, the validator, the request, ...): declared with that type;
 * 3. a name of YOUR_CODE (the reader's own handlers, data and logger, standing for their code): `any`.
 * Only the names the block uses and does not declare itself get a prelude line; anything else is an error.
 * Every CONTEXT and YOUR_CODE name must be used by some block, so the lists stay minimal.
 *
 * A block opts out with `<!-- snippet: skip (reason) -->` on the line above its fence (rarely: output,
 * a deliberately wrong example); the skipped ones are listed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  'MIGRATING.md',
  ...readdirSync(path.join(ROOT, 'packages'))
    .filter((name) => readdirSync(path.join(ROOT, 'packages', name)).includes('README.md'))
    .map((name) => `packages/${name}/README.md`),
  'packages/core/KEYSET.md',
  'packages/core/INTROSPECTION.md',
  'packages/core/SCOPES-AND-TENANTS.md',
];
const TSDOC_PACKAGES = ['core', 'express', 'fastify', 'hono'];
const LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'mts']);
const SKIP = /^<!--\s*snippet:\s*skip\s*\((.+)\)\s*-->$/;

/** Rule 2: the names a fragment may take from its surroundings, by home package. */
const APP_TYPE: Record<string, string> = {
  express: `import('express').Express`,
  fastify: `import('fastify').FastifyInstance`,
  hono: `import('hono').Hono<{ Variables: import('@tokenguard/hono').TokenguardVariables }>`,
};
const CONTEXT: Record<string, (home: string) => string> = {
  app: (home) => APP_TYPE[home] ?? APP_TYPE.express ?? '',
  validator: () => `import('@tokenguard/core').Validator`,
  auth: () => `import('@tokenguard/core').AuthInfo`,
  err: () => `import('@tokenguard/core').TokenGuardError`,
  options: () => `import('@tokenguard/core').TokenguardOptions`,
  source: () => `import('@tokenguard/core').TokenSource`,
  header: () => 'string',
  token: () => 'string',
  issuer: () => 'string',
  audience: () => 'string',
  clientId: () => 'string',
  clientSecret: () => 'string',
  // Node/Express's request and response; Fastify's; a fetch Request elsewhere.
  req: () => `import('express').Request`,
  res: () => `import('express').Response`,
  request: (home) => (home === 'fastify' ? `import('fastify').FastifyRequest` : 'Request'),
  reply: () => `import('fastify').FastifyReply`,
};
const FRAMEWORK: Record<string, Record<string, string>> = {
  hono: { Hono: `import { Hono } from 'hono';` },
};
/** Rule 3: stand-ins for the reader's own code, named as such by the prose around the blocks. */
const YOUR_CODE = [
  // route handlers
  'listOrders',
  'createOrder',
  'deleteOrder',
  'del',
  'listTenantOrders',
  'listReports',
  'health',
  // the rest of a worker, a job queue, a data store, a logger
  'processJob',
  'RetryLater',
  'saveOrder',
  'retryLater',
  'rejectMessage',
  'refreshAndRetry',
  'proceed',
  'fail',
  'parseForm',
  'customers',
  'db',
  'redis',
  'log',
  'metrics',
];

interface Snippet {
  /** Where to point a reader: doc file and the fence's line. */
  where: string;
  home: string;
  code: string;
  /** The doc line of the block's first code line. */
  firstLine: number;
}

function homeOf(file: string): string {
  const match = /^packages\/([^/]+)\//.exec(file);
  return match?.[1] ?? 'express';
}

/** The fenced TypeScript/JavaScript blocks of a Markdown text, with their 1-based first code line. */
function fencedBlocks(lines: readonly string[]): { line: number; code: string; skip?: string }[] {
  const blocks: { line: number; code: string; skip?: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(lines[i] ?? '');
    if (open === null) continue;
    const fence = open[1] ?? '```';
    let end = i + 1;
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith(fence)) end++;
    if (LANGUAGES.has((open[2] ?? '').toLowerCase())) {
      const skip = SKIP.exec((lines[i - 1] ?? '').trim())?.[1];
      const code = lines.slice(i + 1, end).join('\n');
      blocks.push(skip === undefined ? { line: i + 2, code } : { line: i + 2, code, skip });
    }
    i = end;
  }
  return blocks;
}

const skipped: string[] = [];
/** The CONTEXT and YOUR_CODE names some block needed. */
const preludeUsed = new Set<string>();

function docSnippets(): Snippet[] {
  const snippets: Snippet[] = [];
  for (const file of DOCS) {
    const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    for (const block of fencedBlocks(lines)) {
      const where = `${file}:${block.line - 1}`;
      if (block.skip !== undefined) skipped.push(`${where} (${block.skip})`);
      else snippets.push({ where, home: homeOf(file), code: block.code, firstLine: block.line });
    }
  }
  return snippets;
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, { noEmit: true });
  return { ...parsed.options, noEmit: true, declaration: false, declarationMap: false, sourceMap: false };
}

const ENTRIES = TSDOC_PACKAGES.map((name) => path.join(ROOT, 'packages', name, 'src', 'index.ts'));

function entryModule(program: ts.Program, index: number): ts.Symbol {
  const entry = program.getSourceFile(ENTRIES[index] ?? '');
  const moduleSymbol = entry && program.getTypeChecker().getSymbolAtLocation(entry);
  if (moduleSymbol === undefined) throw new Error(`no module symbol for ${ENTRIES[index]}`);
  return moduleSymbol;
}

/** The `@example` blocks on the exports of each package's src/index.ts (and on their members). */
function tsdocSnippets(program: ts.Program): Snippet[] {
  const checker = program.getTypeChecker();
  const seen = new Set<string>();
  const snippets: Snippet[] = [];
  const collect = (node: ts.Node, home: string): void => {
    for (const tag of ts.getJSDocTags(node)) {
      if (tag.tagName.text !== 'example') continue;
      const source = tag.getSourceFile();
      const key = `${source.fileName}:${tag.pos}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const first = source.getLineAndCharacterOfPosition(tag.getStart(source)).line;
      const lines = source.text
        .slice(tag.getStart(source), tag.end)
        .split('\n')
        .map((line) => line.replace(/^\s*\*\/?\s?/, ''));
      const file = path.relative(ROOT, source.fileName);
      for (const block of fencedBlocks(lines)) {
        const line = first + block.line;
        const where = `${file}:${line - 1}`;
        if (block.skip !== undefined) skipped.push(`${where} (${block.skip})`);
        else snippets.push({ where, home, code: block.code, firstLine: line });
      }
    }
  };
  for (const [index, name] of TSDOC_PACKAGES.entries()) {
    const moduleSymbol = entryModule(program, index);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const declaration of symbol.declarations ?? []) {
        // Only this package's own declarations: a re-export of core is checked as core's.
        if (!declaration.getSourceFile().fileName.startsWith(path.join(ROOT, 'packages', name, 'src')))
          continue;
        collect(declaration, name);
        if (ts.isInterfaceDeclaration(declaration) || ts.isClassDeclaration(declaration)) {
          for (const member of declaration.members) collect(member, name);
        }
      }
    }
  }
  return snippets;
}

/** Names a module declares at its top level, and every identifier it mentions. */
function scan(code: string): { declared: Set<string>; used: Set<string> } {
  const source = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const declared = new Set<string>();
  const used = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) declared.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) declared.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) declared.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings))
        for (const e of bindings.elements) declared.add(e.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      declared.add(statement.name.text);
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) used.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { declared, used };
}

/** Each package's exports, `true` for a value (imported as such), `false` for a type only. */
function exportsByPackage(program: ts.Program): Map<string, Map<string, boolean>> {
  const names = new Map<string, Map<string, boolean>>();
  const checker = program.getTypeChecker();
  for (const [index, name] of TSDOC_PACKAGES.entries()) {
    const moduleSymbol = entryModule(program, index);
    const kinds = new Map<string, boolean>();
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      kinds.set(exported.name, (symbol.flags & ts.SymbolFlags.Value) !== 0);
    }
    names.set(name, kinds);
  }
  return names;
}

function prelude(snippet: Snippet, exports: Map<string, Map<string, boolean>>): string[] {
  const { declared, used } = scan(snippet.code);
  const free = [...used].filter((name) => !declared.has(name)).sort();
  const lines: string[] = [];
  const importFrom = (pkg: string, name: string): boolean => {
    const isValue = exports.get(pkg)?.get(name);
    if (isValue === undefined) return false;
    lines.push(`import { ${isValue ? '' : 'type '}${name} } from '@tokenguard/${pkg}';`);
    return true;
  };
  for (const name of free) {
    if (name === 'default' || importFrom(snippet.home, name) || importFrom('core', name)) continue;
    const framework = FRAMEWORK[snippet.home]?.[name];
    if (framework !== undefined) lines.push(framework);
    else if (CONTEXT[name] !== undefined) {
      lines.push(`declare const ${name}: ${CONTEXT[name](snippet.home)};`);
      preludeUsed.add(name);
    } else if (YOUR_CODE.includes(name)) {
      lines.push(`declare const ${name}: any;`);
      preludeUsed.add(name);
    }
  }
  lines.push('export {};');
  return lines;
}

describe('code in the docs', () => {
  // One program over every block: about 15 s on a quiet 2-core machine, so a margin above the 20 s default.
  it('compiles against the real packages', { timeout: 60_000 }, () => {
    const options = compilerOptions();
    const packages = ts.createProgram(ENTRIES, options);
    const snippets = [...docSnippets(), ...tsdocSnippets(packages)];
    const exports = exportsByPackage(packages);
    const files = new Map<string, { snippet: Snippet; preludeLines: number; text: string }>();
    for (const [n, snippet] of snippets.entries()) {
      const lines = prelude(snippet, exports);
      const name = path.join(ROOT, 'test', `__docs_snippet_${n}__.ts`);
      files.set(name, {
        snippet,
        preludeLines: lines.length,
        text: `${lines.join('\n')}\n${snippet.code}\n`,
      });
    }
    const host = ts.createCompilerHost(options);
    const { fileExists, readFile, getSourceFile } = host;
    host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
    host.readFile = (file) => files.get(file)?.text ?? readFile.call(host, file);
    host.getSourceFile = (file, language, onError, create) => {
      const virtual = files.get(file);
      if (virtual !== undefined) return ts.createSourceFile(file, virtual.text, language, true);
      return getSourceFile.call(host, file, language, onError, create);
    };
    // The packages' program is reused: only the blocks are new.
    const program = ts.createProgram([...files.keys()], options, host, packages);
    // Only the blocks' own diagnostics: the packages themselves are `pnpm typecheck`'s.
    const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    for (const file of files.keys()) {
      const source = program.getSourceFile(file);
      diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
    }
    const problems: string[] = [];
    for (const diagnostic of diagnostics) {
      const virtual = diagnostic.file && files.get(diagnostic.file.fileName);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
      if (virtual === undefined || diagnostic.file === undefined || diagnostic.start === undefined) {
        problems.push(`(program) TS${diagnostic.code}: ${message}`);
        continue;
      }
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const at =
        line < virtual.preludeLines
          ? 'prelude'
          : `line ${virtual.snippet.firstLine + line - virtual.preludeLines}`;
      problems.push(`${virtual.snippet.where} (${at}) TS${diagnostic.code}: ${message}`);
    }
    if (skipped.length > 0) console.info(`docs snippets skipped:\n  ${skipped.join('\n  ')}`);
    expect(snippets.length).toBeGreaterThan(20);
    const unused = [...Object.keys(CONTEXT), ...YOUR_CODE].filter((name) => !preludeUsed.has(name));
    expect(unused, 'prelude names no block needs: drop them').toEqual([]);
    expect(problems, `${snippets.length} blocks checked`).toEqual([]);
  });
});
