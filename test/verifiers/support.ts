import type { IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import { verifierRegistry, verifierSchema } from '../../src/verifiers/index.ts';
import type { Verifier, VerifyRequest, VerifyResult } from '../../src/verifiers/types.ts';
import { type Relay, sample } from '../helpers.ts';

/** Shared by the verifier tests: a verifier from a config object, a request, and relay checks. */

export function verifier(config: Record<string, unknown>): Verifier {
  return verifierRegistry.create(verifierSchema.parse(config));
}

export function request(
  body: string | Buffer,
  headers: Record<string, string> = {},
  url = '/in',
  method = 'POST',
): VerifyRequest {
  const lower: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  const q = url.indexOf('?');
  return {
    method,
    url,
    query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
    headers: lower,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
    remoteAddress: '127.0.0.1',
  };
}

/** The reason of a failed result, or 'ok'. */
export async function outcome(v: Verifier, req: VerifyRequest, now = Date.now()): Promise<string> {
  const result: VerifyResult = await v.verify(req, now);
  return result.ok ? 'ok' : result.reason;
}

export async function failures(relay: Relay, route: string, verifier: string, reason: string) {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  return sample(text, 'hookrelay_verify_failures_total', { route, verifier, reason }) ?? 0;
}

/** The refusal log lines carry the reason and a detail, never the secret or any signature sent. */
export function expectCleanLogs(relay: Relay, secrets: string[], signatures: string[]): void {
  const text = JSON.stringify(relay.logs);
  for (const value of [...secrets, ...signatures]) expect(text).not.toContain(value);
  const refused = relay.logs.filter((line) => line.code === 'HOOKRELAY_ERR_UNAUTHORIZED');
  expect(refused.length).toBeGreaterThan(0);
  for (const line of refused) expect(typeof line.detail).toBe('string');
}
