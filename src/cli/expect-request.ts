/**
 * What `hookrelay test` compares of a request that would be sent (`expect.method`, `url`,
 * `headers`, `body`, `json`): the route's, or one fan-out target's (test-targets.ts). A credential
 * is compared as sent but never quoted.
 */
import { parseJsonText } from '../core/json.ts';
import { lineColumn } from '../core/line-column.ts';
import { type Authorised, REDACTED, redactHeader, redactUrl, shown } from '../present/redact.ts';
import { bodyText } from '../present/render.ts';
import { jsonDiff } from './expect-json.ts';

export interface RequestExpect {
  method?: string | undefined;
  url?: string | undefined;
  headers?: Record<string, string> | undefined;
  body?: string | undefined;
  json?: unknown;
}

/** What differs between the expectation and the request; empty when it matches. */
export function requestProblems(expect: RequestExpect, authorised: Authorised): string[] {
  const { request: sent, secretHeaders, secretParams } = authorised;
  const view = shown(authorised);
  const problems: string[] = [];
  if (expect.method !== undefined && expect.method !== sent.method) {
    problems.push(`method: expected ${expect.method}, got ${sent.method}`);
  }
  // The URL matches as sent or as `try` shows it (a query credential as `<redacted>`).
  if (expect.url !== undefined && expect.url !== sent.url.href && expect.url !== view.url) {
    problems.push(`url: expected ${redactedUrl(expect.url, secretParams)}\n     got ${view.url}`);
  }
  for (const [name, expected] of Object.entries(expect.headers ?? {})) {
    const key = name.toLowerCase();
    const actual = sent.headers[key];
    const secret = secretHeaders.has(key);
    const show = (value: string) => (secret ? redactHeader(key, value) : JSON.stringify(value));
    if (actual === undefined) problems.push(`header ${key}: expected ${show(expected)}, missing`);
    else if (actual !== expected && view.headers[key] !== expected) {
      problems.push(
        secret && redactHeader(key, actual) === redactHeader(key, expected)
          ? `header ${key}: differs (values ${REDACTED})`
          : `header ${key}: expected ${show(expected)}, got ${show(actual)}`,
      );
    }
  }
  compareBody(expect, sent.body === undefined ? '' : bodyText(sent.body).text, problems);
  return problems;
}

/** `expect.body` (exactly) and `expect.json` (deep-equal, numbers as written) against a body's text. */
function compareBody(expect: RequestExpect, text: string, problems: string[]): void {
  if (expect.body !== undefined && expect.body !== text) problems.push(textDiff(expect.body, text));
  if (expect.json === undefined) return;
  let actual: unknown;
  try {
    // Every number as sent; the expectation's are as written in the file (expect-json.ts).
    actual = parseJsonText(text, Number.POSITIVE_INFINITY);
  } catch {
    problems.push(`json: the body is not JSON: ${snippet(text)}`);
    return;
  }
  problems.push(...jsonDiff(expect.json, actual));
}

/** An expected URL may hold a credential too (`?api_key=${KEY}`): shown like the actual one. */
function redactedUrl(text: string, secretParams: ReadonlySet<string>): string {
  try {
    return redactUrl(new URL(text), secretParams);
  } catch {
    return text;
  }
}

function snippet(text: string, max = 80): string {
  const s = JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
  return s;
}

/** Where two texts first differ, with a little context from each. */
function textDiff(expected: string, actual: string): string {
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
  const { line, column } = lineColumn(expected, i);
  const from = Math.max(0, i - 20);
  return (
    `body: differs at line ${line}, column ${column}\n` +
    `  expected ${snippet(expected.slice(from, i + 40), 60)}\n` +
    `  got      ${snippet(actual.slice(from, i + 40), 60)}`
  );
}
