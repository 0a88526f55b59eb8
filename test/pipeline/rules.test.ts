/**
 * Route rules (src/pipeline/rules.ts, docs/routing.md#rules) on a real relay and target: the first
 * rule that matches acts (answer, refuse, drop), nothing it stops is forwarded, a call no rule
 * matches is delivered, and each match is counted by route, rule and action and named on the
 * request line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

let relay: Relay | undefined;
let target: Target | undefined;
afterEach(async () => {
  await relay?.close();
  await target?.close();
  relay = target = undefined;
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function start(rules: string, extra = ''): Promise<void> {
  target = await startTarget();
  relay = await startRelay(`
routes:
  - id: events
    path: /events
    forward: { url: ${target.url}/in }
${extra}
    rules:
${rules}
`);
}

describe('rules: actions', () => {
  it('answers without forwarding, with a templated body', async () => {
    await start(`
      - name: challenge
        when: { field: body.type, equals: url_verification }
        answer: { contentType: application/json, body: '{"challenge":"{{ body.challenge }}"}' }
`);
    const res = await post(`${relay!.url}/events`, { type: 'url_verification', challenge: 'abc' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'abc' });
    expect(target!.received).toHaveLength(0);
    const line = relay!.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ rule: 'challenge', status: 200, result: 'answered' });
  });

  it('refuses with the rule status and a stable code', async () => {
    await start(`
      - name: other-org
        when: { not: { field: body.org, equals: "00D42" } }
        refuse: { status: 403, message: unknown organisation }
`);
    const res = await post(`${relay!.url}/events`, { org: '00D99' });
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_RULE_REFUSED', route: 'events' });
    expect(body.message).toBe("refused by rule 'other-org': unknown organisation");
    const ok = await post(`${relay!.url}/events`, { org: '00D42' });
    expect(ok.status).toBe(200);
    expect(target!.received).toHaveLength(1);
  });

  it('drops, counted by route and rule; the first match wins', async () => {
    await start(`
      - name: bots
        when: { any: [ { field: body.subtype, equals: bot_message }, { field: headers.x-bot, exists: true } ] }
        drop: true
      - name: big
        when: { field: body.amount, gt: 100 }
        refuse: { status: 422 }
`);
    const res = await post(`${relay!.url}/events`, { subtype: 'bot_message', amount: 500 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'dropped', rule: 'bots', route: 'events' });
    expect((await post(`${relay!.url}/events`, { amount: 5 }, { 'x-bot': '1' })).status).toBe(200);
    expect((await post(`${relay!.url}/events`, { amount: 500 })).status).toBe(422);
    expect((await post(`${relay!.url}/events`, { amount: 50 })).status).toBe(200);
    expect(target!.received).toHaveLength(1);
    const metrics = await relay!.app.metrics.registry.metrics();
    expect(
      sample(metrics, 'hookrelay_rule_matches_total', { route: 'events', rule: 'bots', action: 'drop' }),
    ).toBe(2);
    expect(sample(metrics, 'hookrelay_rule_matches_total', { rule: 'big', action: 'refuse' })).toBe(1);
  });

  it('a missing field is false, not an error; a body the rules cannot read fails with the transform codes', async () => {
    await start(`
      - name: typed
        when: { field: body.event.type, in: [a, b] }
        drop: { status: 204 }
`);
    expect((await post(`${relay!.url}/events`, { other: 1 })).status).toBe(200);
    expect((await post(`${relay!.url}/events`, '', { 'content-type': 'application/json' })).status).toBe(200);
    const form = await post(`${relay!.url}/events`, 'event=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(200);
    const text = await post(`${relay!.url}/events`, 'not json', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({
      error: 'HOOKRELAY_ERR_UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringMatching(/^rules\[0\] \(typed\)/),
    });
    const broken = await post(`${relay!.url}/events`, '{"event":', { 'content-type': 'application/json' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: 'HOOKRELAY_ERR_MALFORMED_BODY' });
    const dropped = await post(`${relay!.url}/events`, { event: { type: 'b' } });
    expect(dropped.status).toBe(204);
    expect(target!.received).toHaveLength(3);
  });

  it('a rule that reads no body never parses it', async () => {
    await start(`
      - name: by-header
        when: { field: headers.x-kind, equals: ping }
        drop: true
`);
    const res = await post(`${relay!.url}/events`, '\u0000binary', {
      'content-type': 'application/octet-stream',
      'x-kind': 'ping',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'dropped' });
  });

  it('jsonata conditions, and a failing one answers 422', async () => {
    await start(`
      - name: expensive
        when: { jsonata: 'amount * qty > 1000 and $headers."x-env" = "prod"' }
        refuse: { status: 409 }
      - name: broken
        when: { jsonata: '$error("nope")' }
        drop: true
`);
    const refused = await post(`${relay!.url}/events`, { amount: 100, qty: 20 }, { 'x-env': 'prod' });
    expect(refused.status).toBe(409);
    const failed = await post(`${relay!.url}/events`, { amount: 1, qty: 1 });
    expect(failed.status).toBe(422);
    expect(await failed.json()).toMatchObject({ error: 'HOOKRELAY_ERR_RULE_FAILED' });
    expect(target!.received).toHaveLength(0);
  });

  it('reads the body as the sender sent it, before the mapping steps (which it spares)', async () => {
    await start(
      `
      - name: paid
        when: { field: body.order.status, equals: paid }
        drop: true
`,
      `    transform:
      - type: map
        fields: { state: order.status, total: { from: order.total, type: number } }`,
    );
    // The dropped event has no total the map could convert: the rule acts before the map runs.
    expect((await post(`${relay!.url}/events`, { order: { status: 'paid', total: 'n/a' } })).status).toBe(
      200,
    );
    expect((await post(`${relay!.url}/events`, { order: { status: 'open', total: '12' } })).status).toBe(200);
    expect(target!.received).toHaveLength(1);
    expect(JSON.parse(target!.received[0]!.body.toString())).toEqual({ state: 'open', total: 12 });
  });

  it('reads the value of the leading xml step', async () => {
    await start(
      `
      - name: other-org
        when: { not: { field: body.notifications.OrganizationId, equals: 00D42 } }
        refuse: {}
`,
      `    transform:
      - type: xml
      - type: map
        fields: { org: notifications.OrganizationId }`,
    );
    const xml = (org: string) => `<notifications><OrganizationId>${org}</OrganizationId></notifications>`;
    const refused = await post(`${relay!.url}/events`, xml('00D99'), { 'content-type': 'text/xml' });
    expect(refused.status).toBe(403);
    const ok = await post(`${relay!.url}/events`, xml('00D42'), { 'content-type': 'text/xml' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(target!.received[0]!.body.toString())).toEqual({ org: '00D42' });
  });
});

describe('onError: answers on failure shaped by the configuration', () => {
  it('a refusal answered as a SOAP fault, still counted under its code', async () => {
    await start(
      `
      - name: other-org
        when: { not: { field: body.org, equals: "00D42" } }
        refuse: { status: 403, message: unknown organisation }
`,
      `    onError:
      - codes: [HOOKRELAY_ERR_RULE_REFUSED]
        status: 500
        contentType: text/xml; charset=utf-8
        body: '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>{{ error.code }} {{ requestId }}</faultstring></soap:Fault></soap:Body></soap:Envelope>'`,
    );
    const res = await post(`${relay!.url}/events`, { org: 'x' }, { 'x-request-id': 'req-1' });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('req-1');
    expect(await res.text()).toContain('<faultstring>HOOKRELAY_ERR_RULE_REFUSED req-1</faultstring>');
    const metrics = await relay!.app.metrics.registry.metrics();
    expect(
      sample(metrics, 'hookrelay_errors_total', { route: 'events', code: 'HOOKRELAY_ERR_RULE_REFUSED' }),
    ).toBe(1);
    expect(relay!.logs.find((l) => l.msg === 'request')).toMatchObject({
      status: 500,
      code: 'HOOKRELAY_ERR_RULE_REFUSED',
      rule: 'other-org',
    });
  });

  it("a target's refusal shaped with its message; other failures keep the JSON error", async () => {
    target = await startTarget((req, res) => {
      const body = JSON.parse(req.body.toString()) as { email?: string };
      res.statusCode = body.email ? 200 : 400;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body.email ? { ok: true } : { message: 'email is required' }));
    });
    relay = await startRelay(`
routes:
  - id: users
    path: /users
    forward: { url: ${target.url}/crm }
    rules:
      - name: blocked
        when: { field: body.blocked, exists: true }
        refuse: {}
    onError:
      - fromTarget: true
        statuses: [4xx]
        body: '{"error":"{{ response.body.message }}","status":{{ response.status }}}'
        contentType: application/json
`);
    const ours = await post(`${relay.url}/users`, { blocked: true });
    expect(ours.status).toBe(403);
    expect(await ours.json()).toMatchObject({ error: 'HOOKRELAY_ERR_RULE_REFUSED' });
    const refused = await post(`${relay.url}/users`, { id: 1 });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'email is required', status: 400 });
    const ok = await post(`${relay.url}/users`, { email: 'a@example.com' });
    expect(ok.status).toBe(200);
    const tooBig = await fetch(`${relay.url}/users`, { method: 'GET' });
    expect(tooBig.status).toBe(405);
    expect(await tooBig.json()).toMatchObject({ error: 'HOOKRELAY_ERR_METHOD_NOT_ALLOWED' });
  });

  it('a delivery failure answered with the configured status and body', async () => {
    target = await startTarget((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    relay = await startRelay(`
routes:
  - id: down
    path: /down
    forward: { url: ${target.url}/x }
    retry: { attempts: 1 }
    onError:
      - codes: [HOOKRELAY_ERR_UNAUTHORIZED]
        body: never
      - statuses: [5xx]
        status: 502
        body: 'could not deliver: {{ error.message }}'
`);
    const res = await post(`${relay.url}/down`, { a: 1 });
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/^could not deliver: /);
  });
});
