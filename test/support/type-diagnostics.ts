/**
 * Type-level checks of snippets: TypeScript's diagnostics for a piece of code compiled as a module in
 * test/ with the workspace tsconfig (strict, NodeNext, the `source` condition), the way a user's file
 * beside the packages would be.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `code`'s diagnostics as `TS<code>: <message>` lines; `probeName` names the virtual file (one per
 * caller, so parallel test files never share one).
 */
export function diagnosticsOf(code: string, probeName: string): string[] {
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, { noEmit: true });
  const options = {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
  };
  const file = path.join(ROOT, 'test', `__${probeName}_probe__.ts`);
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? code : readFile.call(host, name));
  host.getSourceFile = (name, language, onError, create) =>
    name === file
      ? ts.createSourceFile(name, code, language, true)
      : getSourceFile.call(host, name, language, onError, create);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file);
  return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(
    (d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
  );
}
