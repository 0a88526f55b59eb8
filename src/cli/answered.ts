/**
 * A call the relay answers by itself (the route's handshake, a rule's `answer` or `drop`), as
 * `hookrelay try` prints it and `hookrelay test` checks it (`expect.answer`): the answer, and that
 * nothing would be forwarded.
 */
import type { RouteConfig } from '../config/schema.ts';
import { parseJsonText } from '../core/json.ts';
import type { DryRun } from './dry-run.ts';
import { jsonDiff } from './expect-json.ts';

type Answered = Extract<DryRun, { ok: 'answered' }>;
type ExpectAnswer = NonNullable<NonNullable<RouteConfig['tests']>[number]['expect']['answer']>;

const signedNote = (result: Answered) =>
  result.signed
    ? ' once the caller passed `verify` (the provider signs it; try does not check signatures)'
    : '';

/** What answered: `the slack handshake`, `rule 'bots' (drop)`. */
function answeredBy(result: Answered): string {
  if (result.handshake !== undefined) return `the ${result.handshake} handshake`;
  if (result.by === 'fetch') return `the \`answers\` of ${result.step?.name ?? 'a fetch step'}`;
  return `rule '${result.rule}' (${result.by})`;
}

/** `try`'s output for a call the relay answers: the answer, and that nothing is forwarded. */
export function showAnswered(result: Answered, json: boolean): string {
  const { answer } = result;
  if (json) {
    const view =
      result.handshake !== undefined
        ? { handshake: result.handshake, signed: result.signed, forwarded: false, answer }
        : result.by === 'fetch'
          ? { step: result.step?.name, action: 'fetch', forwarded: false, answer }
          : { rule: result.rule, action: result.by, forwarded: false, answer };
    return `${JSON.stringify(view)}\n`;
  }
  const by = result.handshake !== undefined ? `${result.handshake} handshake` : answeredBy(result);
  let out = `# ${by}: answered by the relay${signedNote(result)}; nothing is forwarded\n`;
  out += `${answer.status}\n`;
  for (const name of Object.keys(answer.headers).sort()) out += `${name}: ${answer.headers[name]}\n`;
  out += `\n${answer.body}\n`;
  return out;
}

/** What differs between `expect.answer` and the relay's answer; empty when they agree. */
export function answerProblems(expected: ExpectAnswer, result: Answered): string[] {
  const { answer } = result;
  const problems: string[] = [];
  if (expected.status !== undefined && expected.status !== answer.status) {
    problems.push(`answer status: expected ${expected.status}, got ${answer.status}`);
  }
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    const actual = answer.headers[name.toLowerCase()];
    if (actual !== value) {
      const got = actual === undefined ? 'missing' : `got ${JSON.stringify(actual)}`;
      problems.push(`answer header ${name.toLowerCase()}: expected ${JSON.stringify(value)}, ${got}`);
    }
  }
  if (expected.body !== undefined && expected.body !== answer.body) {
    problems.push(
      `answer body: expected ${JSON.stringify(expected.body)}, got ${JSON.stringify(answer.body)}`,
    );
  }
  if (expected.json !== undefined) {
    let actual: unknown;
    try {
      actual = parseJsonText(answer.body, Number.POSITIVE_INFINITY);
    } catch {
      return [...problems, `answer json: the answer is not JSON: ${JSON.stringify(answer.body)}`];
    }
    problems.push(...jsonDiff(expected.json, actual).map((line) => `answer ${line}`));
  }
  return problems;
}

/** A test case that expects a forwarded request (or an error), but the relay answers by itself. */
export function unexpectedAnswer(result: Answered): string {
  return `${answeredBy(result)} answers this call (${result.answer.status}) and nothing would be forwarded: expect it with \`expect.answer\``;
}
