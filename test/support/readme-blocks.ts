/**
 * Test helper: the options object of a `createValidator({ ... })` call in a README code block, taken
 * as written, so a test runs what a reader would copy. Placeholders in capitals (`YOUR_ORG`, `REGION`)
 * are replaced by the values given; names the block leaves to the reader's code (`customers`) are
 * passed in.
 *
 * @example
 * ```ts
 * const options = readmeValidatorOptions({
 *   section: 'Recipes for common issuers',
 *   after: '**Okta**',
 *   fill: { YOUR_ORG: 'dev-123456' },
 * });
 * ```
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidatorOptions } from '@tokenguard/core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The text of the `## heading` section of a Markdown file of the repository, up to the next `## `. */
export function readmeSection(heading: string, file = 'README.md'): string {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The first fenced code block of `text` after `marker` (or containing it, for a marker inside code). */
export function codeBlockAfter(text: string, marker: string): string {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no "${marker}" in the section`);
  const insideBlock = (text.slice(0, at).match(/^```/gm)?.length ?? 0) % 2 === 1;
  const open = insideBlock ? text.lastIndexOf('\n```', at) + 1 : text.indexOf('\n```', at) + 1;
  const bodyStart = text.indexOf('\n', open) + 1;
  const close = text.indexOf('\n```', bodyStart);
  return text.slice(bodyStart, close);
}

/** The source of the argument of the first `createValidator(...)` call in `code`. */
export function createValidatorArgument(code: string): string {
  const call = code.indexOf('createValidator(');
  if (call < 0) throw new Error('no createValidator( call in the block');
  const start = call + 'createValidator('.length;
  let depth = 1;
  for (let i = start; i < code.length; i++) {
    const c = code[i];
    if (c === '/' && code[i + 1] === '/') {
      i = code.indexOf('\n', i);
      if (i < 0) break;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < code.length && code[i] !== c; i++) if (code[i] === '\\') i++;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')' && --depth === 0) return code.slice(start, i);
  }
  throw new Error('unbalanced createValidator( call');
}

export interface ReadmeOptionsQuery {
  /** The `## ` section holding the block. */
  section: string;
  /** Text just before the block (`**Okta**`), or inside it. */
  after: string;
  /** Placeholder → value, replaced as whole words. */
  fill?: Record<string, string>;
  /** Names the block uses without defining them (the reader's own code). */
  scope?: Record<string, unknown>;
  file?: string;
}

/** The options object of the README block, evaluated as written with `fill` and `scope`. */
export function readmeValidatorOptions(query: ReadmeOptionsQuery): ValidatorOptions {
  const code = codeBlockAfter(readmeSection(query.section, query.file), query.after);
  let source = createValidatorArgument(code);
  const fill = query.fill ?? {};
  const names = Object.keys(fill).sort((a, b) => b.length - a.length);
  if (names.length > 0) {
    source = source.replace(new RegExp(`\\b(${names.join('|')})\\b`, 'g'), (name) => fill[name] ?? name);
  }
  const scope = query.scope ?? {};
  const evaluate = new Function(...Object.keys(scope), `return (${source});`) as (
    ...values: unknown[]
  ) => ValidatorOptions;
  return evaluate(...Object.values(scope));
}
