import { Signature } from '@hubspot/api-client';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { hubspotUris, hubspotVerifier } from '../../src/verifiers/hubspot.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { exampleSecret } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Signed by @hubspot/api-client's own Signature.getSignature (v3), checked by its Signature.isValid.
const SECRET = 'hubspot-client-secret-old-01';
const NEXT = 'hubspot-client-secret-new-02';
const PUBLIC = 'https://hooks.example.com';
const PATH = '/in/hubspot?portalId=62515';
const BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","objectId":123}]';

const sign = (clientSecret: string, url: string, body: string, timestamp: number, method = 'POST') =>
  Signature.getSignature(method, 'v3', { clientSecret, url, requestBody: body, timestamp, signature: '' });

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at, url, method }) => ({
    headers: {
      'x-hubspot-signature-v3': sign(secret, PUBLIC + url, body.toString(), at, method),
      'x-hubspot-request-timestamp': String(at),
    },
  }),
});

presetSuite({
  type: 'hubspot',
  config: (values) => ({ secrets: values, publicUrl: PUBLIC }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('someone-elses-client-secret'),
  body: BODY,
  contentType: 'application/json',
  path: PATH,
  signatureHeaders: ['x-hubspot-signature-v3'],
  toleranceMs: 300_000,
});

describe('verify: hubspot', () => {
  const now = Date.now();
  const v = verifier({ type: 'hubspot', secrets: [SECRET], publicUrl: PUBLIC });
  const headers = (signature: string | undefined, timestamp: string | undefined) => {
    const h: Record<string, string> = {};
    if (signature !== undefined) h['x-hubspot-signature-v3'] = signature;
    if (timestamp !== undefined) h['x-hubspot-request-timestamp'] = timestamp;
    return h;
  };

  it('Signature.isValid accepts what we accept and refuses the tampered one', async () => {
    const signature = sign(SECRET, PUBLIC + PATH, BODY, now);
    const valid = (requestBody: string) =>
      Signature.isValid({
        signatureVersion: 'v3',
        method: 'POST',
        clientSecret: SECRET,
        url: PUBLIC + PATH,
        requestBody,
        timestamp: now,
        signature,
      });
    expect(valid(BODY)).toBe(true);
    expect(await outcome(v, request(BODY, headers(signature, String(now)), PATH), now)).toBe('ok');
    expect(valid(`${BODY} `)).toBe(false);
    expect(await outcome(v, request(`${BODY} `, headers(signature, String(now)), PATH), now)).toBe(
      'mismatch',
    );
  });

  it('the URI: the escapes in HubSpot’s table are decoded before signing, others are not', async () => {
    const path = '/in/hubspot?email=a%40b.example&note=%28x%29%2C%3B%3A&q=%20%26';
    // HubSpot signs the decoded form: `@ ( ) , ; :` decoded, `%20` and `%26` kept.
    const decoded = `${PUBLIC}/in/hubspot?email=a@b.example&note=(x),;:&q=%20%26`;
    expect(hubspotUris(`${PUBLIC}${path}`)).toContain(decoded);
    const good = sign(SECRET, decoded, BODY, now);
    expect(await outcome(v, request(BODY, headers(good, String(now)), path), now)).toBe('ok');
    const asSent = sign(SECRET, `${PUBLIC}${path}`, BODY, now);
    expect(await outcome(v, request(BODY, headers(asSent, String(now)), path), now)).toBe('mismatch');
    const overDecoded = sign(SECRET, `${PUBLIC}/in/hubspot?email=a@b.example&note=(x),;:&q= &`, BODY, now);
    expect(await outcome(v, request(BODY, headers(overDecoded, String(now)), path), now)).toBe('mismatch');
    // Lower-case escapes of the same characters decode as well.
    expect(hubspotUris(`${PUBLIC}/x?e=a%40b&f=a%2fb`)).toContain(`${PUBLIC}/x?e=a@b&f=a/b`);
  });

  it('table: method, URL, timestamp, malformed and missing', async () => {
    const ts = String(now);
    const good = sign(SECRET, PUBLIC + PATH, BODY, now);
    const cases: [string, Record<string, string>, string, string, number, string][] = [
      ['genuine', headers(good, ts), PATH, 'POST', now, 'ok'],
      ['the method is signed', headers(good, ts), PATH, 'PUT', now, 'mismatch'],
      [
        'GET, signed as GET',
        headers(sign(SECRET, PUBLIC + PATH, '', now, 'GET'), ts),
        PATH,
        'GET',
        now,
        'ok',
      ],
      ['the timestamp is signed', headers(good, String(now + 1)), PATH, 'POST', now, 'mismatch'],
      ['other query', headers(good, ts), '/in/hubspot?portalId=1', 'POST', now, 'mismatch'],
      [
        'other host',
        headers(sign(SECRET, `https://evil.example${PATH}`, BODY, now), ts),
        PATH,
        'POST',
        now,
        'mismatch',
      ],
      [
        'timestamp in seconds is stale',
        headers(good, String(Math.floor(now / 1000))),
        PATH,
        'POST',
        now,
        'expired',
      ],
      ['stale', headers(good, ts), PATH, 'POST', now + 301_000, 'expired'],
      ['from the future', headers(good, ts), PATH, 'POST', now - 301_000, 'expired'],
      ['timestamp not a number', headers(good, 'soon'), PATH, 'POST', now, 'malformed'],
      ['signature not base64', headers('v3=abc', ts), PATH, 'POST', now, 'malformed'],
      ['no timestamp', headers(good, undefined), PATH, 'POST', now, 'missing'],
      ['no signature', headers(undefined, ts), PATH, 'POST', now, 'missing'],
    ];
    for (const [name, h, path, method, at, expected] of cases) {
      const body = method === 'GET' ? '' : BODY;
      expect(await outcome(v, request(body, h, path, method), at), name).toBe(expected);
    }
    // The library agrees on the stale one.
    expect(() =>
      Signature.isValid({
        signatureVersion: 'v3',
        clientSecret: SECRET,
        url: PUBLIC + PATH,
        requestBody: BODY,
        timestamp: now - 301_000,
        signature: good,
      }),
    ).toThrow(/Timestamp is invalid/);
  });

  it('the preset example parses; publicUrl is required', () => {
    const example = hubspotVerifier.preset!.example.replace(/\$\{(\w+)\}/g, (_, name: string) =>
      exampleSecret(name),
    );
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'hubspot', tolerance: 300_000 });
    expect(() => verifier({ type: 'hubspot', secrets: [SECRET] })).toThrow(/publicUrl/);
  });
});
