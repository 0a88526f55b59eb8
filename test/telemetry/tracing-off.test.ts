/**
 * Tracing off loads no OpenTelemetry module (issue 16): a real child process relays one request
 * with tracing off and with it on, under a preload that records every module it resolves.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startReceiver } from './otlp-receiver.ts';

const here = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

async function run(config: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const child = await spawnAsync(NODE, ['--import', here('record-loads.mjs'), here('relay-once.ts')], {
    env: { ...clean, ...env, HOOKRELAY_TEST_CONFIG: config },
    timeout: 15_000,
  });
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.stdout).toContain('STATUS 200');
  const line = child.stdout.split('\n').find((l) => l.startsWith('LOADED '))!;
  return (JSON.parse(line.slice('LOADED '.length)) as string[]).filter((url) =>
    url.includes('@opentelemetry'),
  );
}

/** The child runs while this process serves the receiver: spawned, not spawnSync. */
function spawnAsync(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeout: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, timeout: options.timeout });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', () => resolve({ stdout, stderr }));
  });
}

const ROUTE = 'routes:\n  - id: r\n    path: /hook\n    forward: { url: "TARGET/in" }\n';

describe('tracing off', () => {
  it('loads nothing under @opentelemetry/ but the API package prom-client itself requires', async () => {
    // prom-client's process CPU metric requires @opentelemetry/api (for exemplars) whether or not
    // we trace: the no-op API, no SDK. Everything else under @opentelemetry/ is ours to not load.
    expect((await run(ROUTE)).filter((url) => !url.includes('/@opentelemetry/api/'))).toEqual([]);
  });

  it('with tracing on (an OTLP endpoint in the environment), the SDK is loaded and exports: the check sees it', async () => {
    const receiver = await startReceiver();
    try {
      const loaded = await run(ROUTE, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url });
      expect(loaded.some((url) => url.includes('@opentelemetry/sdk-trace-base'))).toBe(true);
      expect(receiver.raw.length).toBeGreaterThan(0);
    } finally {
      await receiver.close();
    }
  });
});
