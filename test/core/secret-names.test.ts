import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigWithWarnings } from '../../src/config/load.ts';
import { formatConfigIssue } from '../../src/core/errors.ts';
import { isSecretHeaderName, isSecretParamName } from '../../src/core/secret-names.ts';
import { echoBody } from '../../src/modes/echo/body.ts';
import { authorise, shown } from '../../src/present/redact.ts';
import { createLogger } from '../../src/telemetry/log.ts';

/**
 * One rule says which names carry a credential. Each name below was missed by at least one of the
 * copies the sites used to keep (the log serializer, the echo answer, `hookrelay try` output, the
 * literal-secret warning); now every site catches every one of them.
 */

const VALUE = 'Zq8vLx3mNw0pRt6y';
const MISSED = [
  'x-session-id', // log, echo
  'x-client-credential', // log, echo
  'x-auth-user', // log, echo
  'x-passwd', // log, echo
  'x-signing-key-id', // try output, config warning
  'x-shop-key', // config warning
  'set-cookie', // config warning
  'proxy-authorization',
];

function logged(headers: Record<string, string>): Record<string, unknown> {
  const lines: string[] = [];
  const sink = { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream;
  createLogger('info', sink).info({ headers }, 'line');
  return (JSON.parse(lines[0]!) as { headers: Record<string, unknown> }).headers;
}

function echoed(headers: Record<string, string>): Record<string, string> {
  const body = echoBody({
    requestId: 'r1',
    routeId: 'r',
    method: 'POST',
    path: '/in',
    params: {},
    query: new URLSearchParams(),
    rawQuery: '',
    headers,
    body: Buffer.alloc(0),
    clientIp: '127.0.0.1',
    receivedAt: 0,
  });
  return (JSON.parse(body) as { headers: Record<string, string> }).headers;
}

async function tried(headers: Record<string, string>, query = '') {
  const authorised = await authorise(
    {
      method: 'POST',
      url: new URL(`http://127.0.0.1:9/hook${query}`),
      headers,
      body: undefined,
    },
    undefined,
  );
  return shown(authorised);
}

function warnedHeaders(headers: Record<string, string>): string[] {
  const lines = Object.entries(headers).map(([n, v]) => `          ${n}: "${v}"\n`);
  const yaml = `routes:\n  - id: r\n    path: /in\n    forward:\n      url: http://127.0.0.1:9/hook\n      headers:\n${lines.join('')}`;
  return parseConfigWithWarnings(yaml, 'hookrelay.yaml').warnings.map(
    (w) => /forward\.headers\.([\w-]+):/.exec(formatConfigIssue(w))?.[1] ?? formatConfigIssue(w),
  );
}

describe('secret names: one rule for every site', () => {
  const headers = Object.fromEntries(MISSED.map((name) => [name, VALUE]));

  it('the rule catches each name, as a header and as a query parameter', () => {
    for (const name of MISSED) {
      expect(isSecretHeaderName(name), name).toBe(true);
      expect(isSecretHeaderName(name.toUpperCase()), name).toBe(true);
      expect(isSecretParamName(name.replaceAll('-', '_')), name).toBe(true);
    }
    for (const name of ['auth', 'authorization', 'cookie', 'api_key', 'access_token', 'sig_signature'])
      expect(isSecretParamName(name), name).toBe(true);
  });

  it('the log serializer masks each', () => {
    const got = logged({ ...headers, 'content-type': 'text/plain' });
    for (const name of MISSED) expect(got[name], name).toBe('[redacted]');
    expect(got['content-type']).toBe('text/plain');
  });

  it('the echo answer masks each', () => {
    const got = echoed({ ...headers, 'content-type': 'text/plain' });
    for (const name of MISSED) expect(got[name], name).toBe(`<redacted, ${VALUE.length} chars>`);
    expect(got['content-type']).toBe('text/plain');
  });

  it('hookrelay try output hides each, in headers and query parameters', async () => {
    const got = await tried(
      { ...headers, 'content-type': 'text/plain' },
      '?auth=a1b2c3d4&cookie=c1d2e3f4&page=2',
    );
    for (const name of MISSED) expect(got.headers[name], name).toBe('<redacted>');
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.url).toBe('http://127.0.0.1:9/hook?auth=<redacted>&cookie=<redacted>&page=2');
  });

  it('a literal value in the config is warned about for each', () => {
    expect(warnedHeaders(headers).sort()).toEqual([...MISSED].sort());
  });

  it('an idempotency key identifies a request: shown everywhere, warned nowhere', async () => {
    const id = { 'idempotency-key': VALUE };
    expect(isSecretHeaderName('Idempotency-Key')).toBe(false);
    expect(logged(id)['idempotency-key']).toBe(VALUE);
    expect(echoed(id)['idempotency-key']).toBe(VALUE);
    expect((await tried(id)).headers['idempotency-key']).toBe(VALUE);
    expect(warnedHeaders(id)).toEqual([]);
  });

  it('header and parameter rules agree on every name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        expect(isSecretHeaderName(name)).toBe(isSecretParamName(name));
      }),
    );
  });
});
