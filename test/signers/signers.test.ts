import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { OutboundRequest } from '../../src/core/message.ts';
import { createRegistry } from '../../src/core/registry.ts';
import { hmacSigner } from '../../src/signers/hmac.ts';
import { signerRegistry, signerSchema } from '../../src/signers/index.ts';
import { standardWebhooksSigner } from '../../src/signers/standard-webhooks.ts';

const SECRET = `whsec_${Buffer.from('a-standard-webhooks-signing-key!').toString('base64')}`;

const request = (body: string | undefined): OutboundRequest => ({
  method: 'POST',
  url: new URL('https://target.example/hook?x=1'),
  headers: {},
  body: body === undefined ? undefined : Buffer.from(body),
});

describe('signer registry', () => {
  it('knows the built-in kinds', () => {
    expect(signerRegistry.types().sort()).toEqual(['hmac', 'standard-webhooks']);
  });

  it('an unknown kind names the known ones; a duplicate fails at start', () => {
    expect(() => signerRegistry.get('jws')).toThrow(
      "unknown signer type 'jws', expected one of: standard-webhooks, hmac",
    );
    expect(() => createRegistry('signer', [hmacSigner, hmacSigner])).toThrow("duplicate signer type 'hmac'");
  });
});

describe('standard-webhooks signer', () => {
  it('signs exactly as the standardwebhooks library does for the same id, time and body', () => {
    const signer = signerRegistry.create(
      signerSchema.parse({ type: 'standard-webhooks', secrets: [SECRET] }),
    );
    const at = new Date('2026-03-01T12:00:00.750Z');
    for (const body of ['{"a":1}', '', 'ünïcode ✓']) {
      const r = request(body);
      signer.sign(r, { id: 'msg_1', now: at.getTime() });
      expect(r.headers).toEqual({
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(SECRET).sign('msg_1', at, body),
      });
    }
    // No body (a GET) signs the empty string.
    const get = request(undefined);
    signer.sign(get, { id: 'msg_2', now: at.getTime() });
    expect(get.headers['webhook-signature']).toBe(new Webhook(SECRET).sign('msg_2', at, ''));
  });

  it('a secret without the whsec_ prefix is the same key; one that is not base64 is a config error that does not quote it', () => {
    const bare = standardWebhooksSigner.create(
      standardWebhooksSigner.schema.parse({ type: 'standard-webhooks', secrets: [SECRET.slice(6)] }),
    );
    const r = request('x');
    bare.sign(r, { id: 'm', now: 1_700_000_000_000 });
    expect(r.headers['webhook-signature']).toBe(
      new Webhook(SECRET).sign('m', new Date(1_700_000_000_000), 'x'),
    );
    const bad = signerSchema.safeParse({ type: 'standard-webhooks', secrets: ['whsec_not base64!'] });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).not.toContain('not base64!');
    expect(signerSchema.safeParse({ type: 'standard-webhooks', secrets: [] }).success).toBe(false);
  });
});

describe('hmac signer', () => {
  it('needs timestampHeader when the template signs {timestamp}', () => {
    const result = signerSchema.safeParse({
      type: 'hmac',
      header: 'X-Sig',
      secret: 's',
      signed: '{timestamp}.{body}',
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['timestampHeader'] });
  });

  it('declares its signature header for redaction', () => {
    const signer = signerRegistry.create(signerSchema.parse({ type: 'hmac', header: 'X-Mac', secret: 's' }));
    expect(signer.signatureHeaders).toEqual(['x-mac']);
  });
});
