/**
 * The configuration of fan-out (`targets`, docs/routing.md#fan-out): each mistake reported with
 * file, line and key, all at once; and how targets compile (route ids, merged retry and queue).
 */
import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, formatConfigIssue } from '../../src/core/errors.ts';
import type { AsyncRoute } from '../../src/modes/async/index.ts';
import { queuedRoutes } from '../../src/modes/index.ts';
import type { SyncRoute } from '../../src/modes/sync/index.ts';

function errors(yaml: string): string[] {
  try {
    parseConfig(yaml, 'fan.yaml', { env: {} });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map(formatConfigIssue);
  }
  return [];
}

const route = (body: string, delivery = 'async') => `routes:
  - id: orders
    path: /in/:tenant
    delivery: ${delivery}
${body}`;

const two = `    targets:
      - name: erp
        forward: { url: "https://erp.example/{tenant}" }
      - name: bi
        forward: { url: "https://bi.example/e" }
`;

describe('targets: config errors', () => {
  it('a route with both `forward` and `targets`', () => {
    expect(errors(route(`    forward: { url: "https://x.example" }\n${two}`))).toEqual([
      'fan.yaml:2:5: routes[0]: a route needs exactly one of `forward`, `targets` or `echo: true` [HOOKRELAY_CONFIG_CONFLICT]',
    ]);
  });

  it('duplicate names, a bad name and an unknown URL parameter, all at once', () => {
    const yaml = route(`    targets:
      - name: erp
        forward: { url: "https://erp.example/{tenant}" }
      - name: erp
        forward: { url: "https://bi.example/{plant}" }
      - name: "bad name"
        forward: { url: "https://bi.example/" }
`);
    expect(errors(yaml)).toEqual([
      expect.stringMatching(/^fan\.yaml:10:9: routes\[0\]\.targets\[2\]\.name: must be 1-64 letters/),
      "fan.yaml:8:9: routes[0].targets[1].name: target 'erp' is already defined on this route [HOOKRELAY_CONFIG_DUPLICATE]",
      expect.stringMatching(/^fan\.yaml:9:20: routes\[0\]\.targets\[1\]\.forward\.url: .*plant/),
    ]);
  });

  it('several primaries on a sync route, and `queue` on the primary', () => {
    const yaml = route(
      `    targets:
      - name: erp
        primary: true
        queue: { concurrency: 2 }
        forward: { url: "https://erp.example/" }
      - name: bi
        primary: true
        forward: { url: "https://bi.example/e" }
`,
      'sync',
    );
    expect(errors(yaml)).toEqual([
      'fan.yaml:8:9: routes[0].targets[0].queue: does not apply to the primary target: it is delivered while the caller waits, never queued [HOOKRELAY_CONFIG_CONFLICT]',
      "fan.yaml:11:9: routes[0].targets[1].primary: only one target can be the primary (target 0 already is): its answer is the caller's [HOOKRELAY_CONFIG_CONFLICT]",
    ]);
  });

  it('keys that do not apply to a target of an async route', () => {
    const yaml = route(`    targets:
      - name: erp
        primary: true
        retry: { attempts: 3, factor: 3 }
        forward: { url: "https://erp.example/" }
`);
    expect(errors(yaml)).toEqual([
      expect.stringMatching(
        /^fan\.yaml:7:9: routes\[0\]\.targets\[0\]\.primary: does not apply to `delivery: async` \(every target is queued/,
      ),
      expect.stringMatching(
        /^fan\.yaml:8:18: routes\[0\]\.targets\[0\]\.retry\.attempts: does not apply to a target of an `async` route \(use `queue\.maxAttempts`\)/,
      ),
    ]);
  });

  it('a rule whose `target` names none of the targets, and one on a route without targets', () => {
    const yaml = `routes:
  - id: orders
    path: /in/:tenant
    delivery: async
    rules:
      - { name: r1, target: erp }
      - { name: r2, target: nope }
${two}  - id: plain
    path: /plain
    forward: { url: "https://x.example" }
    rules:
      - { name: r3, target: erp }
`;
    expect(errors(yaml)).toEqual([
      "fan.yaml:7:21: routes[0].rules[1].target: names no target of this route: 'nope' (targets: erp, bi) [HOOKRELAY_CONFIG_INVALID_VALUE]",
      "fan.yaml:17:21: routes[1].rules[0].target: needs the route's `targets` (a list of named targets) to choose from [HOOKRELAY_CONFIG_CONFLICT]",
    ]);
  });

  it.each([
    ['hybrid', /`delivery: hybrid` \(use `delivery: async` \(every target queued\) or `sync`/],
    ['stream', /`delivery: stream` \(the body is streamed once to one target/],
  ])('`targets` on a %s route', (delivery, message) => {
    const found = errors(route(two, delivery));
    expect(found).toEqual([
      expect.stringMatching(/^fan\.yaml:5:5: routes\[0\]\.targets: does not apply to /),
    ]);
    expect(found[0]).toMatch(message);
  });

  it('`targets` on an echo route', () => {
    expect(errors(`routes:\n  - id: e\n    path: /e\n    echo: true\n${two}`)).toEqual([
      'fan.yaml:2:5: routes[0]: a route needs exactly one of `forward`, `targets` or `echo: true` [HOOKRELAY_CONFIG_CONFLICT]',
    ]);
  });

  it('`queue` and `dedup` are allowed on a sync route with targets (for the queued ones), not without', () => {
    expect(
      errors(route(`    queue: { concurrency: 2 }\n    dedup: { header: X-Id }\n${two}`, 'sync')),
    ).toEqual([]);
    expect(
      errors(route('    queue: { concurrency: 2 }\n    forward: { url: "https://x.example" }', 'sync')),
    ).toEqual([expect.stringContaining('routes[0].queue: does not apply to `delivery: sync`')]);
  });
});

describe('targets: compiled', () => {
  const compile = (yaml: string) => compileRoutes(parseConfig(yaml, 'fan.yaml', { env: {} }));

  it('one queued route per target, id `<route>/<target>`, its retry and queue over the route’s', () => {
    const routes = compile(
      route(`    queue: { concurrency: 3, maxAttempts: 9 }
    retry: { factor: 3 }
    targets:
      - name: erp
        queue: { concurrency: 1 }
        retry: { jitter: false }
        forward: { url: "https://erp.example/{tenant}", headers: { X-Key: k } }
      - name: bi
        forward: { url: "https://bi.example/e" }
`),
    );
    const [orders] = routes as [AsyncRoute];
    const queued = queuedRoutes(routes);
    expect(queued.map((r) => r.id)).toEqual(['orders/erp', 'orders/bi']);
    const [erp, bi] = queued;
    expect(erp!.queue).toMatchObject({ concurrency: 1, maxAttempts: 9 });
    expect(bi!.queue).toMatchObject({ concurrency: 3, maxAttempts: 9 });
    expect(erp!.retry).toMatchObject({ factor: 3, jitter: false });
    expect(bi!.retry).toMatchObject({ factor: 3, jitter: true });
    expect(erp!.configHeaders).toEqual({ 'x-key': 'k' });
    expect(orders.fanout!.targets.map((t) => t.name)).toEqual(['erp', 'bi']);
  });

  it('a sync route queues every target but the primary (the first when none is marked)', () => {
    const routes = compile(route(two, 'sync'));
    expect((routes[0] as SyncRoute).fanout!.primary).toBe(0);
    expect(queuedRoutes(routes).map((r) => r.id)).toEqual(['orders/bi']);
  });
});
