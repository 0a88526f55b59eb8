/**
 * The page templates: Markdown files beside the generators holding a page's prose, with
 * placeholders where the generator puts what it derives from the code.
 *
 * A placeholder is `@@name@@`, the name in lower case with digits and hyphens. `{{ }}` and `${ }`
 * are out because the docs show hookrelay's own text templates and interpolation; `@@` appears in
 * no page. Filling is strict, so a template and its generator cannot drift apart silently: a name
 * the generator does not supply, a value no placeholder takes, and an `@@` that is not part of a
 * placeholder are all errors, every one reported at once with its line. Values are inserted in one
 * pass and never scanned again, so generated text may contain anything.
 *
 * A template may open with a `<!-- template: ... -->` comment for its readers (which page, which
 * generator); it is dropped, and line numbers in errors still count from the file's first line.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { finish, notice } from './markdown.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..', '..');

const PLACEHOLDER = /@@([a-z][a-z0-9-]*)@@/g;

/** A template that does not fit its generator; the message names the file and every problem. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A file beside the generators (a template, an example), by its name in scripts/docs/. */
export function pageFile(name: string): { path: string; text: string } {
  const path = join(HERE, name);
  return { path: relative(ROOT, path), text: readFileSync(path, 'utf8') };
}

/** A template's opening comment says what it makes; it is for its readers, not for the page. */
const HEADER = /^<!-- template:[\s\S]*?-->\n/;

/** The template's text, without its opening comment, with every placeholder replaced by its value. */
export function fillTemplate(path: string, source: string, values: Readonly<Record<string, string>>): string {
  const template = source.replace(HEADER, '');
  const offset = source.length - template.length;
  const problems: string[] = [];
  const lineOf = (index: number) => source.slice(0, offset + index).split('\n').length;
  const used = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (Object.hasOwn(values, name)) used.add(name);
    else problems.push(`${path}:${lineOf(match.index)}: unknown placeholder @@${name}@@`);
  }
  // Blank out the placeholders (keeping offsets) so any `@@` left is a malformed one.
  const rest = template.replace(PLACEHOLDER, (whole) => ' '.repeat(whole.length));
  for (const match of rest.matchAll(/@@/g)) {
    problems.push(`${path}:${lineOf(match.index)}: '@@' outside a placeholder (@@lower-case-name@@)`);
  }
  for (const name of Object.keys(values)) {
    if (!used.has(name))
      problems.push(`${path}: no placeholder @@${name}@@ for a value the generator supplies`);
  }
  if (problems.length) {
    throw new TemplateError(
      `template does not fit its generator:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  return template.replace(PLACEHOLDER, (_whole, name: string) => values[name]!);
}

/**
 * The page made from the template `name` of scripts/docs/: `@@notice@@` is the "do not edit" notice
 * naming `source` (what the generator reads from src/) and the template, the rest is `values`.
 */
export function renderPage(name: string, source: string, values: Readonly<Record<string, string>>): string {
  const { path, text } = pageFile(name);
  return finish(fillTemplate(path, text, { ...values, notice: notice(source, path) }));
}
