import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { AsyncRoute } from '../../src/modes/async/index.ts';

/**
 * A route key that has no effect in the route's delivery mode is an error naming the key and what
 * to use instead, as for stream routes: a user who writes `retry.maxDelay` on an async route, as
 * the docs once said, must not be silently ignored. Keys under `defaults` apply to every route
 * and are never errors. What counts is what the user wrote, not the defaults the schema fills in.
 */

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** `line:col path: message` of every issue. */
function errors(source: string): string[] {
  try {
    parseConfig(source, 'hookrelay.yaml', { env: {} });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
  }
  return [];
}

/** One route in `mode` (line 5 on: its extra lines). */
const route = (mode: string | undefined, ...extra: string[]) =>
  yaml(
    'routes:', // 1
    '  - id: r', // 2
    '    path: /in', // 3
    `    forward: { url: "https://api.example.com/hook" }${mode ? `\n    delivery: ${mode}` : ''}`, // 4 (5)
    ...extra,
  );

const ASYNC = 'does not apply to `delivery: async`';
const HYBRID = 'does not apply to `delivery: hybrid`';
const SYNC = 'does not apply to `delivery: sync`';
const ECHO = 'does not apply to an echo route (it answers itself and forwards nothing)';

describe('keys without effect in the route delivery mode', () => {
  it.each<[string, string, string[]]>([
    [
      'retry.attempts',
      '    retry: { attempts: 5 }',
      [
        `6:14 routes[0].retry.attempts: ${ASYNC} (nobody waits for a queued delivery: use \`queue.maxAttempts\`; \`queue.maxAge\` bounds it too)`,
      ],
    ],
    [
      'retry.minDelay and retry.maxDelay',
      '    retry: { minDelay: 1s, maxDelay: 5m }',
      [
        `6:14 routes[0].retry.minDelay: ${ASYNC} (queued retries back off from \`queue.minDelay\`: use that)`,
        `6:28 routes[0].retry.maxDelay: ${ASYNC} (queued retries back off up to \`queue.maxDelay\`: use that)`,
      ],
    ],
    [
      'retry.maxRetryAfter',
      '    retry: { maxRetryAfter: 1h }',
      [`6:14 routes[0].retry.maxRetryAfter: ${ASYNC} (use \`queue.maxRetryAfter\`)`],
    ],
    [
      'timeouts.deadline',
      '    timeouts: { deadline: 1m }',
      [
        `6:17 routes[0].timeouts.deadline: ${ASYNC} (nobody waits for a queued delivery: \`queue.maxAge\` bounds how long it is retried, \`timeouts.attempt\` each attempt)`,
      ],
    ],
    [
      'response',
      '    response: { transform: [{ type: xml-out }] }',
      [
        `6:5 routes[0].response: ${ASYNC} (the caller is answered before the target is called, so the target's answer reaches nobody; \`respond\` sets the caller's answer)`,
      ],
    ],
  ])('async: %s', (_name, lines, expected) => {
    expect(errors(route('async', lines))).toEqual(expected);
  });

  it('async: the keys that do apply are accepted', () => {
    const source = route(
      'async',
      '    retry: { factor: 3, jitter: false, retryOn: [503] }',
      '    timeouts: { connect: 2s, attempt: 5s }',
      '    limits: { response: 64kb }',
      '    respond: { status: 200, body: OK }',
      '    queue: { minDelay: 1s, maxDelay: 5m, maxRetryAfter: 1h, maxAttempts: 50 }',
    );
    expect(errors(source)).toEqual([]);
  });

  it('hybrid: timeouts.deadline is an error; retry applies to the synchronous phase', () => {
    expect(errors(route('hybrid', '    timeouts: { deadline: 1m }'))).toEqual([
      `6:17 routes[0].timeouts.deadline: ${HYBRID} (the caller waits at most \`hybrid.budget\`, then the webhook is queued: use that)`,
    ]);
    expect(
      errors(
        route(
          'hybrid',
          '    retry: { attempts: 2, minDelay: 100ms, maxDelay: 1s, maxRetryAfter: 2s }',
          '    response: { transform: [{ type: xml-out }] }',
          '    queue: { maxDelay: 10m }',
        ),
      ),
    ).toEqual([]);
  });

  it.each([
    ['delivery: sync', 'sync'],
    ['no delivery (sync)', undefined],
  ])('%s: a queue block is an error, even one that only repeats the defaults', (_name, mode) => {
    const line = mode ? 6 : 5;
    expect(errors(route(mode, '    queue: { concurrency: 4 }'))).toEqual([
      `${line}:5 routes[0].queue: ${SYNC} (nothing is queued: set \`delivery: async\` or \`hybrid\`)`,
    ]);
    expect(errors(route(mode, '    queue: {}'))).toHaveLength(1);
  });

  it('an echo route: the delivery keys are errors', () => {
    const source = yaml(
      'routes:', // 1
      '  - id: e', // 2
      '    path: /echo', // 3
      '    echo: true', // 4
      '    retry: { attempts: 2 }', // 5
      '    timeouts: { attempt: 1s }', // 6
      '    limits: { body: 1kb, response: 1kb }', // 7
      '    respond: { status: 204 }', // 8
      '    transform: [{ type: form }]', // 9
    );
    expect(errors(source).sort()).toEqual([
      `5:5 routes[0].retry: ${ECHO}`,
      `6:5 routes[0].timeouts: ${ECHO}`,
      `7:26 routes[0].limits.response: ${ECHO}`,
      `8:5 routes[0].respond: ${ECHO}`,
      `9:5 routes[0].transform: ${ECHO}`,
    ]);
  });

  it('keys in defaults apply to every route and are never errors', () => {
    const source = yaml(
      'defaults:',
      '  retry: { attempts: 5, minDelay: 1s, maxDelay: 5s, maxRetryAfter: 30s }',
      '  timeouts: { deadline: 1m }',
      '  limits: { response: 1mb }',
      'queue: { driver: memory }',
      'routes:',
      '  - { id: s, path: /s, forward: { url: "https://x.example/s" } }',
      '  - { id: a, path: /a, delivery: async, forward: { url: "https://x.example/a" } }',
      '  - { id: h, path: /h, delivery: hybrid, forward: { url: "https://x.example/h" } }',
      '  - { id: e, path: /e, echo: true }',
    );
    expect(errors(source)).toEqual([]);
  });

  it('a queued route without a queue block gets the queue defaults', () => {
    const config = parseConfig(route('async'), 'hookrelay.yaml', { env: {} });
    const [compiled] = compileRoutes(config) as AsyncRoute[];
    expect(compiled!.queue).toMatchObject({
      concurrency: 4,
      maxAttempts: 1_000,
      maxAge: 86_400_000,
      minDelay: 1_000,
      maxDelay: 300_000,
      maxRetryAfter: 3_600_000,
      lease: 30_000,
    });
  });

  it('the lease check still uses the default lease of a route without a queue block', () => {
    expect(errors(route('async', '    timeouts: { attempt: 40s }'))).toEqual([
      '2:5 routes[0].queue.lease: must be longer than the attempt timeout (40000 ms), or another worker could take over a delivery still in flight',
    ]);
  });
});
