import { hmacValidator as HmacValidator } from '@adyen/api-library';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { adyenVerifier } from '../../src/verifiers/adyen.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { presetSuite, type Signed, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

const validator = new HmacValidator();
const KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
const NEXT = 'b2c0f6a58d4e1f3c7a9b0d2e4f6a8c1e3b5d7f9a0c2e4b6d8f0a1c3e5b7d9f2a';
const WRONG = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

type Item = Record<string, unknown> & { additionalData?: Record<string, unknown> };
const item = (overrides: Partial<Item> = {}): Item => ({
  amount: { currency: 'EUR', value: 1130 },
  eventCode: 'AUTHORISATION',
  eventDate: '2026-12-06T21:00:00+01:00',
  merchantAccountCode: 'AcmeECOM',
  merchantReference: 'order-42',
  paymentMethod: 'visa',
  pspReference: 'QFQTPCQ8HXSKGK82',
  reason: '033899:1111:03/2030',
  success: 'true',
  additionalData: { authCode: '033899' },
  ...overrides,
});
/** Each item signed by @adyen/api-library under `key`, as Adyen sends them. */
const notification = (key: string, items: Item[], live = 'false') =>
  JSON.stringify({
    live,
    notificationItems: items.map((i) => ({
      NotificationRequestItem: {
        ...i,
        additionalData: { ...i.additionalData, hmacSignature: validator.calculateHmac(i as never, key) },
      },
    })),
  });
type Body = { live: string; notificationItems: { NotificationRequestItem: Item }[] };
const edit = (body: string | Buffer, change: (parsed: Body) => void) => {
  const parsed = JSON.parse(body.toString()) as Body;
  change(parsed);
  return JSON.stringify(parsed);
};
const first = (parsed: Body) => parsed.notificationItems[0]!.NotificationRequestItem;

const signer = (key: string): Signer => ({
  configValue: key,
  // `id` makes each signed notification a new message: it is the pspReference (signed).
  sign: ({ id }) => ({ headers: {}, body: Buffer.from(notification(key, [item({ pspReference: id })])) }),
});

presetSuite({
  type: 'adyen',
  config: (values) => ({ secrets: values }),
  signers: [signer(KEY), signer(NEXT)],
  wrong: signer(WRONG),
  body: notification(KEY, [item()]),
  contentType: 'application/json',
  signatureHeaders: [],
  // A signed field changed: the amount.
  tamper: (body) =>
    Buffer.from(
      edit(body, (p) => {
        first(p).amount = { currency: 'EUR', value: 1 };
      }),
    ),
  strip: (signed: Signed) => ({
    ...signed,
    body: Buffer.from(
      edit(signed.body!, (p) => {
        delete first(p).additionalData!.hmacSignature;
      }),
    ),
  }),
  signatureValues: (signed) => [
    String(first(JSON.parse(signed.body!.toString())).additionalData!.hmacSignature),
  ],
});

describe('verify: adyen', () => {
  it("passes the vector of @adyen/api-library's own tests, which its validateHMAC accepts", async () => {
    // Adyen/adyen-node-api-library src/__tests__/hmacValidator.spec.ts
    const key = 'DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00';
    const vector = {
      pspReference: 'pspReference',
      originalReference: 'originalReference',
      merchantAccountCode: 'merchantAccount',
      merchantReference: 'reference',
      amount: { currency: 'EUR', value: 1000 },
      eventCode: 'CAPTURE',
      eventDate: '1970-01-01T00:00:00.000Z',
      paymentMethod: 'VISA',
      reason: 'reason',
      success: 'true',
      additionalData: { hmacSignature: 'xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0=' },
    };
    expect(validator.validateHMAC(vector as never, key)).toBe(true);
    const v = verifier({ type: 'adyen', secrets: [key] });
    const body = (i: object) =>
      JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem: i }] });
    expect(await outcome(v, request(body(vector)))).toBe('ok');
    // Lower-case hex is the same key.
    expect(
      await outcome(verifier({ type: 'adyen', secrets: [key.toLowerCase()] }), request(body(vector))),
    ).toBe('ok');
    const tampered = { ...vector, merchantReference: 'reference2' };
    expect(validator.validateHMAC(tampered as never, key)).toBe(false);
    expect(await outcome(v, request(body(tampered)))).toBe('mismatch');
  });

  it('agrees with validateHMAC: every signed field counts, unsigned fields do not (documented)', async () => {
    const v = verifier({ type: 'adyen', secrets: [KEY] });
    const good = notification(KEY, [item()]);
    const cases: [string, (i: Item) => void, string][] = [
      ['genuine', () => {}, 'ok'],
      [
        'pspReference',
        (i) => {
          i.pspReference = 'OTHER';
        },
        'mismatch',
      ],
      [
        'originalReference added',
        (i) => {
          i.originalReference = 'X';
        },
        'mismatch',
      ],
      [
        'merchantAccountCode',
        (i) => {
          i.merchantAccountCode = 'Evil';
        },
        'mismatch',
      ],
      [
        'merchantReference',
        (i) => {
          i.merchantReference = 'order-43';
        },
        'mismatch',
      ],
      [
        'value',
        (i) => {
          i.amount = { currency: 'EUR', value: 1 };
        },
        'mismatch',
      ],
      [
        'currency',
        (i) => {
          i.amount = { currency: 'USD', value: 1130 };
        },
        'mismatch',
      ],
      [
        'eventCode',
        (i) => {
          i.eventCode = 'REFUND';
        },
        'mismatch',
      ],
      [
        'success',
        (i) => {
          i.success = 'false';
        },
        'mismatch',
      ],
      // Not signed by Adyen's scheme: changing these passes, for us and for Adyen's library.
      [
        'reason (unsigned)',
        (i) => {
          i.reason = 'anything';
        },
        'ok',
      ],
      [
        'eventDate (unsigned)',
        (i) => {
          i.eventDate = '2000-01-01T00:00:00Z';
        },
        'ok',
      ],
      [
        'paymentMethod (unsigned)',
        (i) => {
          i.paymentMethod = 'mc';
        },
        'ok',
      ],
      [
        'additionalData (unsigned)',
        (i) => {
          i.additionalData!.authCode = '999999';
        },
        'ok',
      ],
    ];
    for (const [name, change, expected] of cases) {
      const body = edit(good, (p) => change(first(p)));
      const parsed = first(JSON.parse(body));
      expect(validator.validateHMAC(parsed as never, KEY), name).toBe(expected === 'ok');
      expect(await outcome(v, request(body)), name).toBe(expected);
    }
    // The envelope's `live` flag is not signed either.
    expect(
      await outcome(
        v,
        request(
          edit(good, (p) => {
            p.live = 'true';
          }),
        ),
      ),
    ).toBe('ok');
  });

  it('several items: each must verify; one bad or unsigned item refuses the call', async () => {
    const v = verifier({ type: 'adyen', secrets: [KEY, NEXT] });
    const two = notification(KEY, [item(), item({ pspReference: 'SECOND', eventCode: 'CAPTURE' })]);
    expect(await v.verify(request(two), Date.now())).toMatchObject({
      ok: true,
      messageId: 'QFQTPCQ8HXSKGK82:AUTHORISATION,SECOND:CAPTURE',
    });
    const secondBad = edit(two, (p) => {
      p.notificationItems[1]!.NotificationRequestItem.success = 'false';
    });
    expect(await outcome(v, request(secondBad))).toBe('mismatch');
    const secondUnsigned = edit(two, (p) => {
      delete p.notificationItems[1]!.NotificationRequestItem.additionalData!.hmacSignature;
    });
    expect(await outcome(v, request(secondUnsigned))).toBe('missing');
    // Items signed under the two listed keys (a rotation half-way) each verify.
    const mixed = JSON.stringify({
      live: 'false',
      notificationItems: [
        ...JSON.parse(notification(KEY, [item()])).notificationItems,
        ...JSON.parse(notification(NEXT, [item({ pspReference: 'N' })])).notificationItems,
      ],
    });
    expect(await outcome(v, request(mixed))).toBe('ok');
  });

  it('missing fields sign as empty, like the library; odd shapes are malformed, never thrown', async () => {
    const v = verifier({ type: 'adyen', secrets: [KEY] });
    const sparse = { eventCode: 'REPORT_AVAILABLE', pspReference: 'R1', success: 'true', amount: {} };
    expect(await outcome(v, request(notification(KEY, [sparse])))).toBe('ok');
    const signatureOf = (i: Item) => validator.calculateHmac(i as never, KEY);
    const bodies: [string, string][] = [
      ['', 'malformed'],
      ['not json', 'malformed'],
      ['[]', 'malformed'],
      ['{"notificationItems":[]}', 'malformed'],
      ['{"notificationItems":{}}', 'malformed'],
      ['{"notificationItems":[1]}', 'malformed'],
      ['{"notificationItems":[{"NotificationRequestItem":[]}]}', 'malformed'],
      ['{"notificationItems":[{"NotificationRequestItem":{}}]}', 'missing'],
      [
        '{"notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":7}}}]}',
        'malformed',
      ],
      [
        '{"notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"short"}}}]}',
        'malformed',
      ],
      [
        JSON.stringify({
          notificationItems: [
            {
              NotificationRequestItem: {
                ...item(),
                pspReference: { x: 1 },
                additionalData: { hmacSignature: signatureOf(item()) },
              },
            },
          ],
        }),
        'malformed',
      ],
      [
        JSON.stringify({
          notificationItems: [
            {
              NotificationRequestItem: {
                ...item(),
                amount: 5,
                additionalData: { hmacSignature: signatureOf(item()) },
              },
            },
          ],
        }),
        'malformed',
      ],
      [`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'malformed'],
      [`{"notificationItems":${'['.repeat(70)}${']'.repeat(70)}}`, 'malformed'],
    ];
    for (const [body, expected] of bodies) {
      expect(await outcome(v, request(body)), body.slice(0, 80)).toBe(expected);
    }
  });

  it('config: secrets must be hex keys (never quoted); the example parses', () => {
    const example = adyenVerifier.preset!.example.replaceAll(/\$\{[A-Z_]+\}/g, KEY);
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'adyen', secrets: [KEY] });
    for (const bad of ['not-hex-secret', 'abc', 'zz']) {
      const result = verifierSchema.safeParse({ type: 'adyen', secrets: [KEY, bad] });
      expect(result.success, bad).toBe(false);
      expect(JSON.stringify(result.error?.issues)).toContain('is not a hex HMAC key');
      expect(JSON.stringify(result.error?.issues)).not.toContain(bad);
    }
  });
});
