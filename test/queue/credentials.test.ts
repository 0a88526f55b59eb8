import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { runCli } from '../support/cli.ts';

/**
 * What the configuration supplies to a queued delivery (static header values whatever they are
 * called, a key in `forward.url`, a `headers` step constant, the bearer token) is never written to
 * the SQLite file nor shown by the admin API or `hookrelay deliveries show`; each attempt takes it
 * from the configuration the relay runs with then, so a rotated secret reaches pending deliveries.
 */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIRST = {
  AUTH_KEY: 'auth-key-first-1111',
  API_KEY: 'api-key-first-2222',
  SESSION: 'session-first-3333',
  SUBSCRIPTION: 'sub-key-first-4444',
  FUNCTION_KEY: 'fn-key-first-5555',
  STEP_KEY: 'step-key-first-6666',
  TOKEN: 'bearer-first-7777',
};
const ROTATED = Object.fromEntries(
  Object.entries(FIRST).map(([name, value]) => [name, value.replace('first', 'rotated')]),
) as typeof FIRST;

let target: Target | undefined;
let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  await target?.close();
  relay = undefined;
  target = undefined;
});

let n = 0;
function configYaml(db: string, targetUrl: string): string {
  return `
queue: { path: "${db}" }
admin: { host: 127.0.0.1, port: 0 }
routes:
  - id: orders
    path: /in/:tenant/orders
    delivery: async
    queue: { minDelay: 20ms, maxDelay: 50ms }
    forward:
      url: "${targetUrl}/{tenant}/hook?code=\${FUNCTION_KEY}&v=2"
      headers:
        X-Auth-Key: "\${AUTH_KEY}"
        X-Api_Key: "\${API_KEY}"
        X-Session: "\${SESSION}"
        Ocp-Apim-Subscription-Key: "\${SUBSCRIPTION}"
        X-Source: legacy-erp
      auth: { type: bearer, token: "\${TOKEN}" }
    transform:
      - type: headers
        set: { X-Step-Key: "\${STEP_KEY}", X-Event: "{{ body.event }}" }
`;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function fileBytes(db: string): string {
  return [db, `${db}-wal`]
    .filter((path) => existsSync(path))
    .map((path) => readFileSync(path).toString('latin1'))
    .join('');
}

async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  const { code, stdout, stderr } = await runCli(args, env);
  return { code, out: `${stdout}${stderr}` };
}

describe('configuration secrets and the queue', () => {
  it('are not stored or shown, and each attempt uses the values the relay runs with', async () => {
    let up = false;
    target = await startTarget((_req, res) => {
      res.statusCode = up ? 200 : 503;
      res.end();
    });
    const db = join(dir, `q${++n}`, 'hookrelay.db');
    const yaml = configYaml(db, target.url);
    relay = await startRelay(yaml, FIRST);
    const res = await fetch(`${relay.url}/in/acme/orders?ref=42`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"event":"order.paid"}',
    });
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    await until(() => target!.received.length >= 1, 'a first attempt');
    // The first attempts carry the first values.
    expect(target.received[0]!.headers['x-session']).toBe(FIRST.SESSION);

    // Not in the file, whatever encoding.
    const bytes = fileBytes(db);
    expect(bytes.length).toBeGreaterThan(0);
    for (const value of Object.values(FIRST)) expect(bytes, value).not.toContain(value);
    expect(bytes).toContain('order.paid');

    // Not shown by the admin API.
    const admin = `http://127.0.0.1:${(relay.app.admin!.address() as AddressInfo).port}`;
    const shown = await (await fetch(`${admin}/deliveries/${deliveryId}`)).text();
    for (const value of Object.values(FIRST)) expect(shown, value).not.toContain(value);
    const { delivery } = JSON.parse(shown) as {
      delivery: { url: string; request: { headers: Record<string, string>; configHeaders: string[] } };
    };
    expect(delivery.url).toBe(`${target.url}/acme/hook?code=<redacted>&v=2&ref=42`);
    expect(delivery.request.configHeaders).toEqual([
      'ocp-apim-subscription-key',
      'x-api_key',
      'x-auth-key',
      'x-session',
      'x-source',
      'x-step-key',
    ]);
    expect(delivery.request.headers['x-event']).toBe('order.paid');

    // Not shown by `hookrelay deliveries show`, with or without the secrets in its environment.
    const file = join(dir, `config-${n}.yaml`);
    writeFileSync(file, yaml);
    for (const env of [FIRST, {}]) {
      const show = await cli(['deliveries', 'show', deliveryId, '-c', file], env);
      expect(show.code, show.out).toBe(0);
      expect(show.out).toContain('x-session: (from the route');
      for (const value of Object.values(FIRST)) expect(show.out, value).not.toContain(value);
    }

    // Rotated while the delivery is pending: a restart with new values delivers with those.
    await relay.close();
    relay = undefined;
    const before = target.received.length;
    up = true;
    relay = await startRelay(yaml, ROTATED);
    await until(() => target!.received.length > before, 'the delivery after the restart');
    const last = target.received[target.received.length - 1]!;
    expect(last.url).toBe(`/acme/hook?code=${ROTATED.FUNCTION_KEY}&v=2&ref=42`);
    expect(last.headers).toMatchObject({
      'x-auth-key': ROTATED.AUTH_KEY,
      'x-api_key': ROTATED.API_KEY,
      'x-session': ROTATED.SESSION,
      'ocp-apim-subscription-key': ROTATED.SUBSCRIPTION,
      'x-step-key': ROTATED.STEP_KEY,
      'x-source': 'legacy-erp',
      'x-event': 'order.paid',
      authorization: `Bearer ${ROTATED.TOKEN}`,
      'idempotency-key': deliveryId,
    });
  });
});
