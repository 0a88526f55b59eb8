/**
 * Tracing off loads no OpenTelemetry module (issue 16): a real child process relays one request
 * with tracing off and with it on, under a preload that records every module it resolves.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

function run(config: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const child = spawnSync(NODE, ['--import', here('record-loads.mjs'), here('relay-once.ts')], {
    env: { ...clean, ...env, HOOKRELAY_TEST_CONFIG: config },
    encoding: 'utf8',
    timeout: 15_000,
  });
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.stdout).toContain('STATUS 200');
  const line = child.stdout.split('\n').find((l) => l.startsWith('LOADED '))!;
  return (JSON.parse(line.slice('LOADED '.length)) as string[]).filter((url) =>
    url.includes('@opentelemetry'),
  );
}

const ROUTE = 'routes:\n  - id: r\n    path: /hook\n    forward: { url: "TARGET/in" }\n';

describe('tracing off', () => {
  it('loads nothing under @opentelemetry/ but the API package prom-client itself requires', () => {
    // prom-client's process CPU metric requires @opentelemetry/api (for exemplars) whether or not
    // we trace: the no-op API, no SDK. Everything else under @opentelemetry/ is ours to not load.
    expect(run(ROUTE).filter((url) => !url.includes('/@opentelemetry/api/'))).toEqual([]);
  });

  it('with tracing on (an OTLP endpoint in the environment), the SDK is loaded: the check sees it', () => {
    // The endpoint is a refused port: the export fails quietly at stop, the request is unaffected.
    const loaded = run(ROUTE, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' });
    expect(loaded.some((url) => url.includes('@opentelemetry/sdk-trace-base'))).toBe(true);
  });
});
