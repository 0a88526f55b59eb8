import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { StreamRoute } from '../../src/modes/stream/index.ts';

/** What a stream route accepts and refuses at load, each refusal naming the key. */

function load(route: string, top = ''): ReturnType<typeof parseConfig> {
  return parseConfig(
    `${top}
routes:
  - id: s
    path: /files/*
    methods: [GET, PUT]
    delivery: stream
    forward: { url: "https://files.example.com/api" }
${route}`,
    'test.yaml',
    { env: {} },
  );
}

function issues(route: string, top = ''): string[] {
  try {
    load(route, top);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('stream route configuration', () => {
  it('defaults: no body limit of its own, 60 s idle, no retry; connect timeout from defaults', () => {
    const [route] = compileRoutes(load('')) as StreamRoute[];
    expect(route!.delivery).toBe('stream');
    expect(route!.limits.body).toBe(Number.POSITIVE_INFINITY);
    expect(route!.stream).toEqual({ idleTimeout: 60_000, retryRefused: false });
    expect(route!.timeouts.connect).toBe(5_000);
    expect(route!.forward!.template.prefix).toBe(true);
  });

  it('takes limits.body, timeouts.connect and stream options', () => {
    const [route] = compileRoutes(
      load(
        '    limits: { body: 2gb }\n    timeouts: { connect: 2s }\n    stream: { idleTimeout: 5m, retryRefused: true }',
      ),
    ) as StreamRoute[];
    expect(route!.limits.body).toBe(2 * 1024 ** 3);
    expect(route!.timeouts.connect).toBe(2_000);
    expect(route!.stream).toEqual({ idleTimeout: 300_000, retryRefused: true });
  });

  it('allows the verifiers that need no body', () => {
    expect(
      issues(`    verify:
      - { type: basic, users: [{ username: u, password: pw-123456 }] }
      - { type: apiKey, header: X-Key, keys: [key-123456] }
      - { type: ipAllow, cidrs: [10.0.0.0/8] }`),
    ).toEqual([]);
  });

  it.each([
    ['transform', '    transform: [{ type: form }]', 'routes[0].transform'],
    ['response', '    response: { transform: [{ type: form }] }', 'routes[0].response'],
    ['respond', '    respond: { status: 202 }', 'routes[0].respond'],
    ['dedup', '    dedup: { header: X-Id }', 'routes[0].dedup'],
    ['hybrid', '    hybrid: { budget: 1s }', 'routes[0].hybrid'],
    ['queue', '    queue: { concurrency: 8 }', 'routes[0].queue'],
    ['retry', '    retry: { attempts: 3 }', 'routes[0].retry'],
    ['timeouts.attempt', '    timeouts: { attempt: 5s }', 'routes[0].timeouts.attempt'],
    ['timeouts.deadline', '    timeouts: { deadline: 5s }', 'routes[0].timeouts.deadline'],
    ['limits.response', '    limits: { response: 1mb }', 'routes[0].limits.response'],
    ['limits.jsonDepth', '    limits: { jsonDepth: 10 }', 'routes[0].limits.jsonDepth'],
    [
      'an hmac verifier',
      '    verify: [{ type: hmac, secret: s, header: X-Sig }]',
      'routes[0].verify[0].type',
    ],
    ['a github verifier', '    verify: [{ type: github, secret: s }]', 'routes[0].verify[0].type'],
  ])('refuses %s, naming the key', (_name, yaml, path) => {
    const found = issues(yaml);
    expect(
      found.some((i) => i.startsWith(`${path}:`)),
      found.join('\n'),
    ).toBe(true);
  });

  it('refuses forward.sign and followRedirects on a stream route', () => {
    const found = issues('', '').concat(
      issues(`  - id: t
    path: /t/*
    delivery: stream
    forward:
      url: https://t.example.com
      followRedirects: 2
      sign: [{ type: standard-webhooks, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }]`),
    );
    expect(found.some((i) => i.startsWith('routes[1].forward.followRedirects:'))).toBe(true);
    expect(found.some((i) => i.startsWith('routes[1].forward.sign:'))).toBe(true);
  });

  it('`stream` only applies to a stream route; a root prefix would hide health and metrics', () => {
    const found = issues(`  - id: other
    path: /hook
    forward: { url: "https://x.example.com" }
    stream: { idleTimeout: 1s }
  - id: root
    path: /*
    delivery: stream
    forward: { url: "https://x.example.com" }`);
    expect(found).toContain('routes[1].stream: only applies to `delivery: stream`');
    expect(found.some((i) => i.startsWith('routes[2].path:') && i.includes('/healthz'))).toBe(true);
  });

  it('two prefix routes with the same base and method overlap', () => {
    const found = issues(`  - id: again
    path: /files/*/
    methods: [PUT]
    delivery: stream
    forward: { url: "https://x.example.com" }`);
    expect(found.some((i) => i.startsWith('routes[1].path:') && i.includes('already handled'))).toBe(true);
  });
});
