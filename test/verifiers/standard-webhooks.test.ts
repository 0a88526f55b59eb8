import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

const SECRET = `whsec_${Buffer.from('old-standard-webhooks-key-0001').toString('base64')}`;
const NEXT = `whsec_${Buffer.from('new-standard-webhooks-key-0002').toString('base64')}`;
const BODY = '{"type":"invoice.paid","data":{"id":"inv_1","total":"42.00"}}';
const ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

function headers(secret: string, at: Date, id = ID, body = BODY): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

describe('verify: standard-webhooks', () => {
  const now = Date.now();
  const at = new Date(now);

  it('accepts what the standardwebhooks library signs, and the library accepts what we accept', async () => {
    const v = verifier({ type: 'standard-webhooks', secrets: [SECRET] });
    const h = headers(SECRET, at);
    expect(new Webhook(SECRET).verify(BODY, h)).toEqual(JSON.parse(BODY));
    expect(await outcome(v, request(BODY, h), now)).toBe('ok');
    // A secret without the whsec_ prefix is the same key, as in the library.
    const bare = verifier({ type: 'standard-webhooks', secrets: [SECRET.slice(6)] });
    expect(await outcome(bare, request(BODY, h), now)).toBe('ok');
  });

  it('table: rotation, several signatures, wrong, tampered, missing, malformed and stale', async () => {
    const v = verifier({ type: 'standard-webhooks', secrets: [SECRET, NEXT] });
    const good = headers(NEXT, at);
    const other = headers(`whsec_${Buffer.from('someone-else').toString('base64')}`, at);
    const cases: [string, Record<string, string>, string, number, string][] = [
      ['old secret', headers(SECRET, at), BODY, now, 'ok'],
      ['new secret', good, BODY, now, 'ok'],
      [
        'several signatures, one of them ours',
        {
          ...good,
          'webhook-signature': `v1a,AAAA ${other['webhook-signature']} ${good['webhook-signature']}`,
        },
        BODY,
        now,
        'ok',
      ],
      ['wrong secret', other, BODY, now, 'mismatch'],
      ['tampered body', good, BODY.replace('42', '43'), now, 'mismatch'],
      ['another id (the id is signed)', { ...good, 'webhook-id': 'msg_other' }, BODY, now, 'mismatch'],
      [
        'no signature',
        { 'webhook-id': ID, 'webhook-timestamp': good['webhook-timestamp']! },
        BODY,
        now,
        'missing',
      ],
      ['no id', { ...good, 'webhook-id': '' }, BODY, now, 'missing'],
      ['no timestamp', { ...good, 'webhook-timestamp': '' }, BODY, now, 'missing'],
      ['timestamp not a number', { ...good, 'webhook-timestamp': 'soon' }, BODY, now, 'malformed'],
      [
        'no v1 entry',
        { ...good, 'webhook-signature': good['webhook-signature']!.slice(3) },
        BODY,
        now,
        'malformed',
      ],
      ['stale', good, BODY, now + 301_000, 'expired'],
      ['from the future', good, BODY, now - 301_000, 'expired'],
    ];
    for (const [name, h, body, when, expected] of cases) {
      expect(await outcome(v, request(body, h), when), name).toBe(expected);
    }
    expect(() => new Webhook(NEXT).verify(BODY, headers(NEXT, new Date(now - 301_000)))).toThrow(/too old/);
  });

  it('a secret that is not base64 is a config error that does not quote it', () => {
    expect(() => verifier({ type: 'standard-webhooks', secrets: ['whsec_not base64!'] })).toThrow(
      /secrets\W+0[\s\S]*not a whsec_<base64> secret/,
    );
    try {
      verifier({ type: 'standard-webhooks', secrets: ['whsec_not base64!'] });
    } catch (error) {
      expect(String(error)).not.toContain('not base64!');
    }
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('forwards a signed message byte for byte; refuses a wrong one with 401, nothing forwarded', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: sw
    path: /in/events
    verify:
      - type: standard-webhooks
        secrets: ["\${WEBHOOK_SECRET}", "\${WEBHOOK_SECRET_NEXT}"]
    forward:
      url: ${target.url}/events
`,
        { WEBHOOK_SECRET: SECRET, WEBHOOK_SECRET_NEXT: NEXT },
      );
      const post = (h: Record<string, string>) =>
        fetch(`${relay.url}/in/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...h },
          body: BODY,
        });
      const good = headers(SECRET, new Date());
      const bad = headers(`whsec_${Buffer.from('wrong').toString('base64')}`, new Date());
      expect((await post(good)).status).toBe(200);
      expect((await post(bad)).status).toBe(401);
      expect(target.received.map((r) => r.body.toString())).toEqual([BODY]);
      expect(await failures(relay, 'sw', 'standard-webhooks', 'mismatch')).toBe(1);
      const sig = (h: Record<string, string>) => h['webhook-signature']!.slice(3);
      expectCleanLogs(relay, [SECRET, NEXT, SECRET.slice(6), NEXT.slice(6)], [sig(good), sig(bad)]);
    });
  });
});

const swSigner = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at, id }) => ({ headers: headers(secret, new Date(at), id, body.toString()) }),
});
presetSuite({
  type: 'standard-webhooks',
  config: (secrets) => ({ secrets }),
  signers: [swSigner(SECRET), swSigner(NEXT)],
  wrong: swSigner(`whsec_${Buffer.from('someone-else-key-0003').toString('base64')}`),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['webhook-signature'],
  toleranceMs: 300_000,
});
