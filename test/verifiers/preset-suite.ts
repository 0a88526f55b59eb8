import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

/**
 * The guarantees every provider preset gives, checked the same way for each: a genuine request
 * (signed by the provider's own library where one exists) passes and reaches the target byte for
 * byte; a tampered body, a wrong key, a missing signature header, a stale timestamp and a replay
 * are refused with 401 and counted; two keys rotate; no secret or signature reaches the logs.
 * Each preset's test file adds what is particular to its scheme.
 */

/** What a signer produces for one request: headers to send, and where the scheme needs them, a URL or body. */
export interface Signed {
  headers: Record<string, string>;
  /** Path and query to send to (default: the suite's path). */
  url?: string;
  /** The body to send, when signing changes it (a signature inside the body). */
  body?: Buffer;
}

export interface Signer {
  /** What the route's config lists for this signer: its secret, or its public key. */
  configValue: string;
  /** Material that must never be logged; default `configValue` (a secret). */
  secret?: string;
  /**
   * Signs one request at `at` (ms). `id` is fresh for every call: use it for the scheme's message
   * id header, if it has one, so that two signed requests are two messages to the replay window.
   */
  sign(input: {
    body: Buffer;
    at: number;
    url: string;
    method: string;
    id: string;
  }): Signed | Promise<Signed>;
}

export interface PresetCase {
  /** The verifier type. */
  type: string;
  /** The verifier config given the signers' config values (current first), without `type`. */
  config(values: string[]): Record<string, unknown>;
  /** Two signers for a rotation (old, new), and one the route does not know. */
  signers: [Signer, Signer];
  wrong: Signer;
  body: string | Buffer;
  contentType: string;
  /** Path (and query) the route is called at; default `/in/<type>`. */
  path?: string;
  method?: string;
  /** The headers carrying the signature: without them the call is refused as `missing`. */
  signatureHeaders: string[];
  /**
   * The signed request without its signature, refused as `missing` (default: without
   * `signatureHeaders`). For schemes that carry the signature in the body.
   */
  strip?(signed: Signed): Signed;
  /** When the scheme signs a timestamp: how far off it may be (ms) before `expired`. */
  toleranceMs?: number;
  /** A body that differs from the genuine one in what is signed (default: one more space). */
  tamper?(body: Buffer): Buffer;
  /**
   * False for a shared token (GitLab, Okta): nothing covers the body, so a changed body passes,
   * and the suite checks that it does (the docs say so) instead of expecting a refusal.
   */
  coversBody?: boolean;
  /** Whether the preset takes a `replayWindow` (default true). */
  replay?: boolean;
  /** The signature values, for the check that logs do not hold them (default: the signature headers' values). */
  signatureValues?(signed: Signed): string[];
  /** Extra relay environment (the secret values are passed as HOOKRELAY_PRESET_0/1). */
  env?: Record<string, string>;
}

const defaultTamper = (body: Buffer) => Buffer.concat([body, Buffer.from(' ')]);

export function presetSuite(c: PresetCase): void {
  const path = c.path ?? `/in/${c.type}`;
  const method = c.method ?? 'POST';
  const body = Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body);
  const tamper = c.tamper ?? defaultTamper;
  const values = c.signers.map((s) => s.configValue);
  const make = (configValues: string[]) => verifier({ type: c.type, ...c.config(configValues) });
  let sequence = 0;
  const sign = async (signer: Signer, at: number, payload = body) =>
    signer.sign({ body: payload, at, url: path, method, id: `msg_${c.type}_${++sequence}` });
  const req = (signed: Signed, payload = body) =>
    request(
      signed.body ?? payload,
      { 'content-type': c.contentType, ...signed.headers },
      signed.url ?? path,
      method,
    );
  const signaturesOf = (signed: Signed) =>
    c.signatureValues?.(signed) ??
    c.signatureHeaders.flatMap((name) => {
      const found = Object.entries(signed.headers).find(([key]) => key.toLowerCase() === name.toLowerCase());
      return found ? [found[1]] : [];
    });

  describe(`preset ${c.type}: the shared guarantees`, () => {
    const now = Date.now();

    it('a genuine request passes; tampered, wrong key and missing header are refused', async () => {
      const v = make([values[0]!]);
      const good = await sign(c.signers[0], now);
      expect(await outcome(v, req(good), now)).toBe('ok');
      const tampered = tamper(good.body ?? body);
      expect(await outcome(v, req({ ...good, body: tampered }, tampered), now)).toBe(
        c.coversBody === false ? 'ok' : 'mismatch',
      );
      expect(await outcome(v, req(await sign(c.wrong, now)), now)).toBe('mismatch');
      const stripped: Signed = c.strip?.(good) ?? {
        ...good,
        headers: Object.fromEntries(
          Object.entries(good.headers).filter(
            ([name]) => !c.signatureHeaders.some((h) => h.toLowerCase() === name.toLowerCase()),
          ),
        ),
      };
      expect(await outcome(v, req(stripped), now)).toBe('missing');
    });

    it('two keys rotate: either passes while both are listed, the old one fails once removed', async () => {
      const both = make(values);
      const oldSigned = await sign(c.signers[0], now);
      const newSigned = await sign(c.signers[1], now);
      expect(await outcome(both, req(oldSigned), now)).toBe('ok');
      expect(await outcome(both, req(newSigned), now)).toBe('ok');
      const onlyNew = make([values[1]!]);
      expect(await outcome(onlyNew, req(newSigned), now)).toBe('ok');
      expect(await outcome(onlyNew, req(oldSigned), now)).toBe('mismatch');
    });

    if (c.toleranceMs !== undefined) {
      const tolerance = c.toleranceMs;
      it('a timestamp outside the tolerance is refused as expired, either way', async () => {
        const v = make([values[0]!]);
        const signed = await sign(c.signers[0], now);
        expect(await outcome(v, req(signed), now + tolerance - 30_000)).toBe('ok');
        expect(await outcome(v, req(signed), now + tolerance + 30_000)).toBe('expired');
        expect(await outcome(v, req(signed), now - tolerance - 30_000)).toBe('expired');
      });
    }

    describe('through a relay', () => {
      let target: Target;
      let relay: Relay;
      afterEach(async () => {
        await relay?.close();
        await target?.close();
      });

      it('forwards the genuine request byte for byte; refusals are 401, counted and logged clean', async () => {
        target = await startTarget();
        const verify = {
          type: c.type,
          ...c.config(['${HOOKRELAY_PRESET_0}', '${HOOKRELAY_PRESET_1}']),
          ...(c.replay === false ? {} : { replayWindow: '10m' }),
        };
        relay = await startRelay(
          `
routes:
  - id: preset
    path: ${JSON.stringify(path.split('?')[0])}
    verify: [${JSON.stringify(verify)}]
    forward: { url: "${target.url}/hook" }
`,
          { HOOKRELAY_PRESET_0: values[0]!, HOOKRELAY_PRESET_1: values[1]!, ...c.env },
        );
        const send = (signed: Signed, payload = body) =>
          fetch(`${relay.url}${signed.url ?? path}`, {
            method,
            headers: { 'content-type': c.contentType, ...signed.headers },
            body: signed.body ?? payload,
          });
        const good = await sign(c.signers[0], Date.now());
        const passed = await send(good);
        expect(passed.status, await passed.clone().text()).toBe(200);
        expect(target.received).toHaveLength(1);
        expect(target.received[0]!.body.equals(good.body ?? body)).toBe(true);

        const rotated = await sign(c.signers[1], Date.now());
        expect((await send(rotated)).status).toBe(200);

        const wrong = await sign(c.wrong, Date.now());
        const refused = await send(wrong);
        expect(refused.status).toBe(401);
        const error = (await refused.json()) as {
          error: string;
          message: string;
          route: string;
          requestId: string;
        };
        expect(error.error).toBe('HOOKRELAY_ERR_UNAUTHORIZED');
        expect(error.message).toContain(`(verify[0] (${c.type}): mismatch)`);
        expect(error.route).toBe('preset');
        expect(typeof error.requestId).toBe('string');

        if (c.coversBody !== false) {
          const tampered = tamper(good.body ?? body);
          expect((await send({ ...good, body: tampered }, tampered)).status).toBe(401);
        }
        expect(await failures(relay, 'preset', c.type, 'mismatch')).toBe(c.coversBody === false ? 1 : 2);

        if (c.replay !== false) {
          const again = await send(good);
          expect(again.status).toBe(401);
          expect(await failures(relay, 'preset', c.type, 'replayed')).toBe(1);
        }
        if (c.toleranceMs !== undefined) {
          const stale = await sign(c.signers[0], Date.now() - c.toleranceMs - 60_000);
          expect((await send(stale)).status).toBe(401);
          expect(await failures(relay, 'preset', c.type, 'expired')).toBe(1);
        }
        expect(target.received).toHaveLength(2);
        const secrets = [...c.signers, c.wrong].map((s) => s.secret ?? s.configValue);
        expectCleanLogs(
          relay,
          secrets,
          [...signaturesOf(good), ...signaturesOf(wrong)].filter((s) => s.length >= 16),
        );
      });
    });
  });
}
