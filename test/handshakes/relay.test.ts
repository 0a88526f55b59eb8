import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * Handshakes through a running relay: answered by the relay, never forwarded; signed ones only
 * after `verify`; the methods a handshake brings accepted for it alone; refusals with their code,
 * metric and log line.
 */

const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_CHALLENGE = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';
const SLACK_BODY = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"${SLACK_CHALLENGE}","type":"url_verification"}`;

const slackHeaders = (secret: string, body: string) => {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { 'content-type': 'application/json', 'x-slack-signature': sig, 'x-slack-request-timestamp': ts };
};

async function metric(relay: Relay, name: string, labels: Record<string, string>) {
  return sample(await (await fetch(`${relay.url}/metrics`)).text(), name, labels) ?? 0;
}

const requestLines = (relay: Relay) => relay.logs.filter((line) => line.msg === 'request');

describe('handshakes through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('slack: answered only after the signature passed; the target never sees it; events go on', async () => {
    target = await startTarget();
    relay = await startRelay(
      `
routes:
  - id: slack
    path: /slack/events
    handshake: { type: slack }
    verify:
      - type: slack
        secrets: ["\${SLACK_SIGNING_SECRET}"]
    forward:
      url: ${target.url}/events
`,
      { SLACK_SIGNING_SECRET: SLACK_SECRET },
    );
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${relay.url}/slack/events`, { method: 'POST', headers, body });
    const ok = await post(slackHeaders(SLACK_SECRET, SLACK_BODY), SLACK_BODY);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ok.headers.get('x-request-id')).toBeTruthy();
    expect(await ok.text()).toBe(SLACK_CHALLENGE);

    const forged = await post(slackHeaders('not-the-secret', SLACK_BODY), SLACK_BODY);
    expect(forged.status).toBe(401);
    const refusal = (await forged.json()) as { error: string };
    expect(refusal.error).toBe('HOOKRELAY_ERR_UNAUTHORIZED');

    const event = '{"type":"event_callback","event":{"type":"app_mention"}}';
    expect((await post(slackHeaders(SLACK_SECRET, event), event)).status).toBe(200);
    expect(target.received.map((r) => r.body.toString())).toEqual([event]);

    expect(
      await metric(relay, 'hookrelay_handshakes_answered_total', { route: 'slack', type: 'slack' }),
    ).toBe(1);
    const lines = requestLines(relay);
    expect(lines[0]).toMatchObject({ route: 'slack', status: 200, handshake: 'slack', result: 'handshake' });
    expect(lines[1]).toMatchObject({ status: 401, code: 'HOOKRELAY_ERR_UNAUTHORIZED' });
    expect(lines[1]!.handshake).toBeUndefined();
  });

  it('meta: a GET on a POST route is the handshake only; a wrong token is 403 with metric and log', async () => {
    target = await startTarget();
    relay = await startRelay(
      `
routes:
  - id: whatsapp
    path: /meta
    handshake: { type: meta, verifyToken: "\${META_VERIFY_TOKEN}" }
    forward:
      url: ${target.url}/wa
`,
      { META_VERIFY_TOKEN: 'meatyhamhock' },
    );
    const get = (query: string) => fetch(`${relay.url}/meta?${query}`);
    const ok = await get('hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');

    const wrong = await get('hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess');
    expect(wrong.status).toBe(403);
    const body = (await wrong.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_HANDSHAKE_REFUSED', route: 'whatsapp' });
    expect(JSON.stringify(body)).not.toContain('1158201444');

    // A GET that is not the handshake: 405 as without one, Allow lists the route's own methods.
    const plain = await get('x=1');
    expect(plain.status).toBe(405);
    expect(plain.headers.get('allow')).toBe('POST');
    expect(((await plain.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_METHOD_NOT_ALLOWED');
    // A method neither the route nor its handshake takes: the router's own 405.
    expect((await fetch(`${relay.url}/meta`, { method: 'PUT', body: '{}' })).status).toBe(405);

    const event = '{"object":"whatsapp_business_account","entry":[]}';
    const posted = await fetch(`${relay.url}/meta?hub.mode=subscribe`, { method: 'POST', body: event });
    expect(posted.status).toBe(200);
    expect(target.received.map((r) => `${r.method} ${r.body}`)).toEqual([`POST ${event}`]);

    const labels = { route: 'whatsapp', type: 'meta' };
    expect(await metric(relay, 'hookrelay_handshakes_answered_total', labels)).toBe(1);
    expect(
      await metric(relay, 'hookrelay_handshakes_refused_total', { ...labels, reason: 'forbidden' }),
    ).toBe(1);
    const refused = requestLines(relay).find((line) => line.status === 403);
    expect(refused).toMatchObject({ handshake: 'meta', code: 'HOOKRELAY_ERR_HANDSHAKE_REFUSED' });
    expect(JSON.stringify(relay.logs)).not.toContain('meatyhamhock');
    expect(JSON.stringify(relay.logs)).not.toContain('guess');
  });

  it("okta: the GET verification is checked by the route's verify first; other GETs 405", async () => {
    target = await startTarget();
    relay = await startRelay(
      `
routes:
  - id: okta
    path: /okta
    handshake: { type: okta }
    verify:
      - { type: apiKey, header: Authorization, keys: ["\${OKTA_HOOK_KEY}"] }
    forward:
      url: ${target.url}/okta
`,
      { OKTA_HOOK_KEY: 'okta-hook-secret-1' },
    );
    const challenge = { 'x-okta-verification-challenge': 'H9G5SMZ2z1PH1mxiY7Fu' };
    const ok = await fetch(`${relay.url}/okta`, {
      headers: { ...challenge, authorization: 'okta-hook-secret-1' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ verification: 'H9G5SMZ2z1PH1mxiY7Fu' });
    expect((await fetch(`${relay.url}/okta`, { headers: challenge })).status).toBe(401);
    // Not the handshake: the 405 comes before verify, as on a route without a handshake.
    expect((await fetch(`${relay.url}/okta`)).status).toBe(405);
    expect(target.received).toEqual([]);
  });

  it('zoom: the hmac verifier checks x-zm-signature, then the validation is answered', async () => {
    target = await startTarget();
    relay = await startRelay(
      `
routes:
  - id: zoom
    path: /zoom
    handshake: { type: zoom, secretToken: "\${ZOOM_SECRET_TOKEN}" }
    verify:
      - type: hmac
        header: x-zm-signature
        prefix: v0=
        signed: "v0:{timestamp}:{body}"
        timestampHeader: x-zm-request-timestamp
        secrets: ["\${ZOOM_SECRET_TOKEN}"]
    forward:
      url: ${target.url}/zoom
`,
      { ZOOM_SECRET_TOKEN: 'zoom-secret-token-example' },
    );
    const body = '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event":"endpoint.url_validation"}';
    const ts = String(Date.now());
    const sign = (secret: string) =>
      `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const send = (secret: string) =>
      fetch(`${relay.url}/zoom`, {
        method: 'POST',
        headers: { 'x-zm-signature': sign(secret), 'x-zm-request-timestamp': ts },
        body,
      });
    const ok = await send('zoom-secret-token-example');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: '02b388957bd75494d35ec1658be6692dcda1d75201c34a5b7fbc48a7a2e59fc3',
    });
    expect((await send('wrong')).status).toBe(401);
    expect(target.received).toEqual([]);
  });

  it('msgraph on an async route, dropbox on an echo route, x on a sync route', async () => {
    target = await startTarget();
    relay = await startRelay(
      `
queue: { driver: memory }
routes:
  - id: graph
    path: /graph
    delivery: async
    handshake: { type: msgraph }
    forward: { url: "${target.url}/graph" }
  - id: dropbox
    path: /dropbox
    echo: true
    handshake: { type: dropbox }
  - id: x
    path: /x
    handshake: { type: x, consumerSecret: "\${X_CONSUMER_SECRET}" }
    forward: { url: "${target.url}/x" }
`,
      { X_CONSUMER_SECRET: 'z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu' },
    );
    const token = 'Validation: Testing client application reachability';
    const graph = await fetch(`${relay.url}/graph?validationToken=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
    });
    expect(graph.status).toBe(200);
    expect(await graph.text()).toBe(token);

    const dropbox = await fetch(`${relay.url}/dropbox?challenge=abc123`);
    expect(dropbox.status).toBe(200);
    expect(dropbox.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(dropbox.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await dropbox.text()).toBe('abc123');
    const bad = await fetch(`${relay.url}/dropbox?challenge=${'a'.repeat(3000)}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_HANDSHAKE_MALFORMED');

    const x = await fetch(`${relay.url}/x?crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553`);
    expect(await x.json()).toEqual({ response_token: 'sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8=' });

    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(target.received).toEqual([]);
    const refused = { route: 'dropbox', type: 'dropbox', reason: 'malformed' };
    expect(await metric(relay, 'hookrelay_handshakes_refused_total', refused)).toBe(1);
  });
});
