/**
 * `hookrelay test`: runs the route test cases of a config (request in, expected target request
 * out) through the relay's own stages, nothing sent, and prints what differs.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CompiledRoute } from '../config/compile.ts';
import type { RouteConfig } from '../config/schema.ts';
import { secretValuesOf } from '../config/secret-provenance.ts';
import { shown } from '../present/redact.ts';
import { answerProblems, unexpectedAnswer } from './answered.ts';
import { describeFailure, dryRun } from './dry-run.ts';
import { exactExpectations, withExactNumbers } from './expect-json.ts';
import { requestProblems } from './expect-request.ts';
import { configFile, loadForCommand } from './load.ts';
import { fanoutProblems } from './test-targets.ts';

export const TEST_HELP = `Usage: hookrelay test [-c FILE] [--route ID]

Runs the \`tests:\` cases declared on the routes: each case's inbound call goes through the route's
transform steps (nothing is sent) and what would be forwarded is compared with \`expect\`; a call
the route's \`handshake\` answers is compared with \`expect.answer\`. Prints
PASS or FAIL per case, what differed, and a summary.

Options:
  -c, --config FILE   config file (default: $HOOKRELAY_CONFIG, else config/hookrelay.yaml)
  -r, --route ID      only this route's cases

Exit status: 0 when every case passed, 1 when one failed or there are none. See docs/transforms.md.`;

type TestCase = NonNullable<RouteConfig['tests']>[number];

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      route: { type: 'string', short: 'r' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export async function runTests(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    process.stderr.write(`hookrelay test: ${(error as Error).message}\n\n${TEST_HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${TEST_HELP}\n`);
    return 0;
  }
  const loaded = loadForCommand(configFile(values.config));
  if (!loaded) return 1;
  const { file, config, routes } = loaded;
  if (values.route !== undefined && !routes.some((r) => r.id === values.route)) {
    const ids = routes.map((r) => r.id).join(', ');
    process.stderr.write(`hookrelay test: no route '${values.route}' in ${file}; routes: ${ids}\n`);
    return 1;
  }
  let passed = 0;
  let failed = 0;
  // A failing case quotes what would be sent: never a value the configuration keeps secret.
  const secrets = secretValuesOf(config);
  const exact = exactExpectations(file);
  for (const [index, route] of routes.entries()) {
    if (values.route !== undefined && route.id !== values.route) continue;
    for (const [n, loaded] of (config.routes[index]!.tests ?? []).entries()) {
      const test =
        loaded.expect.json === undefined
          ? loaded
          : {
              ...loaded,
              expect: { ...loaded.expect, json: withExactNumbers(loaded.expect.json, exact(index, n)) },
            };
      const problems = await runCase(route, test, {
        baseDir: dirname(file),
        requestIdHeader: config.server.requestIdHeader,
        requestId: `test-${route.id}-${n + 1}`,
      });
      if (problems.length === 0) passed++;
      else failed++;
      let out = `${problems.length === 0 ? 'PASS' : 'FAIL'} ${route.id}/${test.name}\n`;
      for (const problem of problems) out += `${indent(problem)}\n`;
      process.stdout.write(secrets.redact(out));
    }
  }
  if (passed + failed === 0) {
    const scope = values.route === undefined ? file : `route ${values.route} of ${file}`;
    process.stderr.write(
      `hookrelay test: no test cases in ${scope}; add \`tests:\` to a route (see docs/transforms.md)\n`,
    );
    return 1;
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

interface CaseContext {
  baseDir: string;
  requestIdHeader: string;
  requestId: string;
}

/** What differs between the case's expectation and what the route would do; empty when it passes. */
export async function runCase(route: CompiledRoute, test: TestCase, ctx: CaseContext): Promise<string[]> {
  const { request, expect } = test;
  if (!('forward' in route)) return [`route ${route.id} does not forward (echo: true): nothing to test`];
  if (request.body !== undefined && request.bodyFile !== undefined) {
    return ['request: give `body` or `bodyFile`, not both'];
  }
  let body = Buffer.from(request.body ?? '');
  if (request.bodyFile !== undefined) {
    const path = resolve(ctx.baseDir, request.bodyFile);
    try {
      body = readFileSync(path);
    } catch (error) {
      return [`request.bodyFile: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`];
    }
  }
  const result = await dryRun(
    route,
    {
      method: request.method,
      path: request.path,
      query: request.query,
      headers: request.headers ?? {},
      contentType: request.contentType,
      body,
    },
    ctx.requestIdHeader,
    ctx.requestId,
    // Offline: a `fetch` step's answer comes from the case, never from the API.
    { kind: 'fixtures', fixtures: test.fetched ?? {} },
  );
  if (result.ok === 'stopped') {
    const lookup = shown(result.lookup);
    return [
      `fetched: ${result.step.name} would look up ${lookup.method} ${lookup.url}: give its answer as \`fetched.${result.into}\` in the case (hookrelay test contacts nothing)`,
    ];
  }
  const problems: string[] = [];
  if (expect.rule !== undefined && (result.rule ?? 'none') !== expect.rule) {
    problems.push(
      `rule: expected ${expect.rule === 'none' ? 'no rule to match' : expect.rule}, got ${result.rule ?? 'no rule matched'}`,
    );
  }
  if (result.ok === 'answered') {
    problems.push(
      ...(expect.answer === undefined ? [unexpectedAnswer(result)] : answerProblems(expect.answer, result)),
    );
    return problems;
  }
  if (expect.answer !== undefined) {
    const instead = result.ok
      ? `the request would be forwarded: ${shown(result.authorised).method} ${shown(result.authorised).url}`
      : `got ${result.error.code}: ${describeFailure(route.id, result.error, result.step)}`;
    return [...problems, `answer: expected the relay to answer by itself, but ${instead}`];
  }
  if (expect.error !== undefined) {
    if (result.ok) {
      const view = shown(result.authorised);
      return [
        ...problems,
        `error: expected ${expect.error}, but the request would be forwarded: ${view.method} ${view.url}`,
      ];
    }
    if (result.error.code !== expect.error) {
      problems.push(
        `error: expected ${expect.error}, got ${result.error.code}: ${describeFailure(route.id, result.error, result.step)}`,
      );
    } else if (expect.status !== undefined && expect.status !== result.error.status) {
      problems.push(`status: expected ${expect.status}, got ${result.error.status}`);
    }
    return problems;
  }
  if (!result.ok) {
    return [
      ...problems,
      `error: ${describeFailure(route.id, result.error, result.step)} (${result.error.code})`,
    ];
  }
  if (expect.status !== undefined && expect.status !== result.answer?.status) {
    problems.push(
      result.answer
        ? `status: expected ${expect.status}, got ${result.answer.status} (respond)`
        : `status: expected ${expect.status}, but the request would be forwarded and the target's answer relayed`,
    );
  }
  if (result.targets || expect.targets || expect.chosen) {
    return [...problems, ...fanoutProblems(route.id, expect, result.targets)];
  }
  problems.push(...requestProblems(expect, result.authorised));
  return problems;
}
