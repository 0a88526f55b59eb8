import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, documentedCommand, ROOT } from './support.ts';

/** config/examples/github-ci.yaml: GitHub webhooks, verified, to an internal CI scheduler. */
const FILE = 'config/examples/github-ci.yaml';
const source = readFileSync(join(ROOT, FILE), 'utf8');
const SECRET = 'github-webhook-secret-for-tests';
const TOKEN = 'ci-scheduler-token-0123456789';
const BODY = JSON.stringify({ ref: 'refs/heads/main', after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' });

describe('github-ci', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start(status = () => 204) {
    target = await startTarget((_req, res) => {
      res.statusCode = status();
      res.end();
    });
    relay = await startRelay(source, { GITHUB_WEBHOOK_SECRET: SECRET, CI_TOKEN: TOKEN, CI_URL: target.url });
    return relay;
  }

  const deliver = async (url: string, delivery: string, secret = SECRET, body = BODY) =>
    fetch(`${url}/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/abc123',
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-github-hook-id': '42',
        'x-hub-signature-256': await sign(secret, body),
      },
      body,
    });

  it('a signed push reaches the scheduler byte for byte, with its token and the event headers only', async () => {
    const { url } = await start();
    expect((await deliver(url, '72d3162e-cc78-11e3-81ab-4c9367dc0958')).status).toBe(204);
    const got = target!.received[0]!;
    expect(got.url).toBe('/hooks/github');
    expect(got.body.toString('utf8')).toBe(BODY);
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['x-github-event']).toBe('push');
    expect(got.headers['x-github-delivery']).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(got.headers['x-hub-signature-256']).toBeUndefined();
  });

  it('a wrong secret and a replayed delivery are refused with 401 and never reach the scheduler', async () => {
    const r = await start();
    expect((await deliver(r.url, 'd-1', 'not-the-secret')).status).toBe(401);
    expect((await deliver(r.url, 'd-2')).status).toBe(204);
    expect((await deliver(r.url, 'd-2')).status).toBe(401);
    expect(target!.received).toHaveLength(1);
    const metrics = await (await fetch(`${r.url}/metrics`)).text();
    const reason = (why: string) =>
      sample(metrics, 'hookrelay_verify_failures_total', {
        route: 'github',
        verifier: 'github',
        reason: why,
      });
    expect([reason('mismatch'), reason('replayed')]).toEqual([1, 1]);
    expect(JSON.stringify(r.logs)).not.toContain(SECRET);
    expect(JSON.stringify(r.logs)).not.toContain(TOKEN);
  });

  it("GitHub's redelivery after the scheduler was down gets through", async () => {
    let down = true;
    const { url } = await start(() => (down ? 503 : 204));
    // The relay's own retries all fail: GitHub gets a 5xx and will redeliver the same id.
    expect((await deliver(url, 'd-3')).status).toBe(502);
    down = false;
    expect((await deliver(url, 'd-3')).status).toBe(204);
    expect((await deliver(url, 'd-3')).status).toBe(401);
  });

  it('`# Check:` validates the file as written', async () => {
    const { env, args } = documentedCommand({ file: FILE, source } as never, 'Check');
    const result = await cli(args, env);
    expect(result.stdout).toContain(`${FILE}: OK (1 route)`);
    expect(result.code).toBe(0);
  });
});
