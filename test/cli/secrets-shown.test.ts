import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { refusedPort } from '../helpers.ts';
import { runCli } from '../support/cli.ts';

/**
 * Values the configuration takes from `${VAR}` are never shown, whatever the header is called:
 * `hookrelay try`, `hookrelay test` and the echo route, as real child processes and a real relay.
 * (What the queue stores and shows is in test/queue/credentials.test.ts.)
 */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = {
  AUTH_KEY: 'auth-key-s3cret-1',
  API_KEY: 'api-key-s3cret-22',
  SESSION: 'session-s3cret-333',
  SUBSCRIPTION: 'sub-key-s3cret-4444',
  FUNCTION_KEY: 'fn-key/s3cret+55555',
  BODY_KEY: 'body-key-s3cret-666666',
};
const VALUES = Object.values(SECRETS);

async function cli(args: string[], stdin = ''): Promise<{ code: number | null; out: string }> {
  const { code, stdout, stderr } = await runCli(args, SECRETS, stdin);
  return { code, out: `${stdout}${stderr}` };
}

const ROUTE = `  - id: orders
    path: /in/orders
    forward:
      url: "https://api.example.com/orders?code=\${FUNCTION_KEY}"
      headers:
        X-Auth-Key: "\${AUTH_KEY}"
        X-Api_Key: "\${API_KEY}"
        X-Session: "\${SESSION}"
        Ocp-Apim-Subscription-Key: "\${SUBSCRIPTION}"
    transform:
      - type: map
        fields: { id: id, credentials.key: { const: "\${BODY_KEY}" } }
`;

const config = join(dir, 'shown.yaml');
writeFileSync(
  config,
  `routes:
${ROUTE}    tests:
      - name: deliberately failing, quoting what would be sent
        request: { body: '{"id": 7}', contentType: application/json }
        expect:
          url: https://api.example.com/orders
          headers: { X-Session: wrong, X-Auth-Key: wrong, Ocp-Apim-Subscription-Key: wrong }
          json: { id: 8 }
`,
);

function expectNoSecret(text: string): void {
  for (const value of VALUES) {
    expect(text).not.toContain(value);
    expect(text).not.toContain(encodeURIComponent(value));
  }
}

describe('secrets from the environment are never shown', () => {
  it('hookrelay try shows where each goes, never its value (text and --json)', async () => {
    const text = await cli(['try', '-c', config, '--route', 'orders', '-t', 'application/json'], '{"id": 7}');
    expect(text.code).toBe(0);
    expectNoSecret(text.out);
    for (const name of ['x-auth-key', 'x-api_key', 'x-session', 'ocp-apim-subscription-key']) {
      expect(text.out).toContain(`${name}: <redacted>`);
    }
    expect(text.out).toContain('POST https://api.example.com/orders?code=<redacted>');
    expect(text.out).toMatch(/"key": "<redacted>"/);
    const json = await cli(['try', '-c', config, '--route', 'orders', '--json'], '{"id": 7}');
    expect(json.code).toBe(0);
    expectNoSecret(json.out);
    const shown = JSON.parse(json.out) as { headers: Record<string, string>; url: string; body: string };
    expect(shown.headers['x-session']).toBe('<redacted>');
    expect(JSON.parse(shown.body)).toEqual({ id: 7, credentials: { key: '<redacted>' } });
  });

  it('hookrelay test quotes what differs without the values', async () => {
    const result = await cli(['test', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('FAIL orders/deliberately failing');
    expect(result.out).toContain('x-session');
    expectNoSecret(result.out);
  });

  it('an echo route behind a forwarding route masks them in what it echoes', async () => {
    // The echo route lives in the same relay (and config) as the route that injects the values.
    const port = await refusedPort();
    const app = createApp(
      parseConfig(
        `
server: { host: 127.0.0.1, port: ${port} }
routes:
  - id: sender
    path: /in/orders
    forward:
      url: "http://127.0.0.1:${port}/echo?code=\${FUNCTION_KEY}"
      headers: { X-Session: "\${SESSION}", Ocp-Apim-Subscription-Key: "\${SUBSCRIPTION}" }
  - id: echo
    path: /echo
    echo: true
`,
        'echo.yaml',
        { env: SECRETS },
      ),
      { logger: createLogger('silent'), defaultMetrics: false },
    );
    await app.listen();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/in/orders`, {
        method: 'POST',
        body: `{"k":"${SECRETS.SESSION}"}`,
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      // Its name says credential, so the echo masks it like Authorization (scheme and length only).
      expect(text).toMatch(/"x-session":"<redacted, \d+ chars>"/);
      expect(text).toContain('"code":"<redacted>"');
      expectNoSecret(text);
    } finally {
      await app.stop(500);
    }
  });
});
