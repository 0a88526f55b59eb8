/**
 * `hookrelay test` on a fan-out route: `expect.chosen` (exactly the targets chosen, in order) and
 * `expect.targets.<name>` (the request that target must get), compared with what the relay would
 * send to each (dry-run-targets.ts). Nothing is sent.
 */
import { parseJsonText } from '../core/json.ts';
import { REDACTED, redactHeader, shown } from '../present/redact.ts';
import { bodyText } from '../present/render.ts';
import type { TargetRun } from './dry-run-targets.ts';
import { jsonDiff } from './expect-json.ts';

export interface RequestExpect {
  method?: string | undefined;
  url?: string | undefined;
  headers?: Record<string, string> | undefined;
  body?: string | undefined;
  json?: unknown;
}

export interface FanoutExpect extends RequestExpect {
  targets?: Record<string, RequestExpect> | undefined;
  chosen?: string[] | undefined;
}

/** What differs; `runs` undefined: the route has no `targets`. */
export function fanoutProblems(
  routeId: string,
  expect: FanoutExpect,
  runs: TargetRun[] | undefined,
): string[] {
  if (!runs) {
    return [
      `targets: route ${routeId} has no \`targets\`: expect its request with method, url, headers, body or json`,
    ];
  }
  const problems: string[] = [];
  const top = (['method', 'url', 'headers', 'body', 'json'] as const).filter((k) => expect[k] !== undefined);
  if (top.length > 0) {
    problems.push(
      `${top.join(', ')}: route ${routeId} fans out: expect each target's request under \`expect.targets.<name>\``,
    );
  }
  const names = runs.map((r) => r.name);
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
  if (expect.chosen !== undefined && expect.chosen.join('\n') !== names.join('\n')) {
    problems.push(`chosen: expected ${list(expect.chosen)}, got ${list(names)}`);
  }
  for (const [name, expected] of Object.entries(expect.targets ?? {})) {
    const run = runs.find((r) => r.name === name);
    if (!run) problems.push(`targets.${name}: not chosen for this call (chosen: ${list(names)})`);
    else problems.push(...requestProblems(expected, run).map((p) => `targets.${name}: ${p}`));
  }
  return problems;
}

function requestProblems(expect: RequestExpect, run: TargetRun): string[] {
  const { request: sent, secretHeaders } = run.authorised;
  const view = shown(run.authorised);
  const problems: string[] = [];
  if (expect.method !== undefined && expect.method !== sent.method) {
    problems.push(`method: expected ${expect.method}, got ${sent.method}`);
  }
  if (expect.url !== undefined && expect.url !== sent.url.href && expect.url !== view.url) {
    problems.push(`url: expected ${expect.url}, got ${view.url}`);
  }
  for (const [name, expected] of Object.entries(expect.headers ?? {})) {
    const key = name.toLowerCase();
    const actual = sent.headers[key];
    const secret = secretHeaders.has(key);
    const show = (value: string) => (secret ? redactHeader(key, value) : JSON.stringify(value));
    if (actual === undefined) problems.push(`header ${key}: expected ${show(expected)}, missing`);
    else if (actual !== expected && view.headers[key] !== expected) {
      problems.push(
        secret
          ? `header ${key}: differs (values ${REDACTED})`
          : `header ${key}: expected ${show(expected)}, got ${show(actual)}`,
      );
    }
  }
  const text = sent.body === undefined ? '' : bodyText(sent.body).text;
  if (expect.body !== undefined && expect.body !== text) {
    problems.push(`body: expected ${JSON.stringify(expect.body)}, got ${JSON.stringify(text)}`);
  }
  if (expect.json !== undefined) {
    try {
      problems.push(...jsonDiff(expect.json, parseJsonText(text, Number.POSITIVE_INFINITY)));
    } catch {
      problems.push(`json: the body is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
  }
  return problems;
}
