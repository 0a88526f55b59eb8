import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { secretValuesOf } from '../../src/config/secret-provenance.ts';
import { SecretValues } from '../../src/core/secret-values.ts';

/** Which values of a configuration are never shown, and how they are found in what is shown. */

describe('SecretValues', () => {
  const secrets = new SecretValues(['s3cr3t&key"1', 'tok!', 'ab']);

  it('redacts each occurrence, raw and as a URL, a form, JSON or XML would carry it', () => {
    for (const text of [
      'x-a: s3cr3t&key"1',
      `https://h/x?k=${encodeURIComponent('s3cr3t&key"1')}`,
      `k=${new URLSearchParams([['', 's3cr3t&key"1']]).toString().slice(1)}`,
      JSON.stringify({ k: 's3cr3t&key"1' }),
      '<k>s3cr3t&amp;key&quot;1</k>',
    ]) {
      const out = secrets.redact(text);
      expect(out, text).toContain('<redacted>');
      expect(out).not.toContain('s3cr3t');
    }
    expect(secrets.redact('tok! and tok!')).toBe('<redacted> and <redacted>');
  });

  it('does not search for values too short to be secrets', () => {
    expect(secrets.redact('ab cd')).toBe('ab cd');
    expect(secrets.size).toBe(2);
    expect(SecretValues.none.redact('anything')).toBe('anything');
  });
});

describe('secret values of a loaded configuration', () => {
  const env = {
    TARGET_HOST: 'api.example.com',
    TARGET_PATH: 'orders-v2',
    FUNCTION_KEY: 'fn-key-123456',
    SESSION: 'session-abcdef',
    SUB_KEY: 'sub-key-987654',
    SOURCE: 'legacy-erp',
    PORT: '8443',
    ROUTE_ID: 'orders',
    ADMIN: 'admin-token-0123456789',
    HMAC: 'hmac-secret-value',
  };
  const config = parseConfig(
    `
server: { port: "\${PORT}" }
admin: { token: "\${ADMIN}" }
routes:
  - id: \${ROUTE_ID}
    path: /in/orders
    verify: [{ type: hmac, header: X-Sig, secrets: ["\${HMAC}"] }]
    forward:
      url: "https://\${TARGET_HOST}/\${TARGET_PATH}?code=\${FUNCTION_KEY}"
      headers: { X-Session: "\${SESSION}", Ocp-Apim-Subscription-Key: "\${SUB_KEY}" }
    transform:
      - type: map
        fields: { source: { const: "\${SOURCE}" }, id: id }
  - id: literal
    path: /in/literal
    verify: [{ type: basic, users: [{ username: u, password: written-in-the-file }] }]
    echo: true
`,
    'secrets.yaml',
    { env },
  );
  const secrets = secretValuesOf(config);

  it.each([
    ['the query of forward.url', 'fn-key-123456'],
    ['static headers', 'session-abcdef'],
    ['static headers (any name)', 'sub-key-987654'],
    ['a mapped constant', 'legacy-erp'],
    ['a verifier secret', 'hmac-secret-value'],
    ['the admin token', 'admin-token-0123456789'],
    ['a secret field written literally', 'written-in-the-file'],
  ])('%s is secret', (_where, value) => {
    expect(secrets.contains(value)).toBe(true);
  });

  it.each([
    ['the host of forward.url', 'api.example.com'],
    ['the path of forward.url', 'orders-v2'],
    ['a server setting', '8443'],
    ['a route id', 'orders'],
  ])('%s is not: it says where a request goes, or what the relay is', (_where, value) => {
    expect(secrets.contains(value)).toBe(false);
  });

  it('a config built without the loader still knows the fields marked secret', () => {
    const built = configSchema.parse({
      admin: { token: 'built-admin-token-0123' },
      routes: [{ id: 'r', path: '/in', echo: true }],
    });
    expect(secretValuesOf(built).contains('built-admin-token-0123')).toBe(true);
  });
});
