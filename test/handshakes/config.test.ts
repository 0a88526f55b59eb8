import { describe, expect, it } from 'vitest';
import { parseConfig, parseConfigWithWarnings } from '../../src/config/load.ts';
import { secretFieldValues } from '../../src/config/secret-provenance.ts';
import { ConfigError, formatConfigIssue } from '../../src/core/errors.ts';

/** The `handshake` route key: its errors with file:line:col, its secrets. */

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function errors(source: string): string[] {
  try {
    parseConfig(source, 'hookrelay.yaml', { env: { TOKEN: 'verify-token-1' } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message} [${i.code}]`);
  }
  return [];
}

const route = (...extra: string[]) =>
  yaml(
    'routes:', // 1
    '  - id: r', // 2
    '    path: /in', // 3
    '    forward: { url: "https://api.example.com/hook" }', // 4
    ...extra, // 5…
  );

describe('route key `handshake`', () => {
  it('accepts every preset with its fields', () => {
    expect(errors(route('    handshake: { type: msgraph }'))).toEqual([]);
    expect(errors(route('    handshake: { type: meta, verifyToken: "${TOKEN}" }'))).toEqual([]);
    expect(
      errors(
        route(
          '    handshake: { type: slack }',
          '    verify: [{ type: slack, secrets: ["${TOKEN}"] }]',
          '    delivery: hybrid',
        ),
      ),
    ).toEqual([]);
  });

  it('an unknown type, a missing or unknown field: file:line:col and the key', () => {
    expect(errors(route('    handshake: { type: teams }'))).toEqual([
      "5:18 routes[0].handshake.type: unknown type 'teams', expected one of: slack, msgraph, okta, meta, zoom, dropbox, x, discord, twitch, woocommerce [HOOKRELAY_CONFIG_UNKNOWN_TYPE]",
    ]);
    expect(errors(route('    handshake: { type: meta }'))[0]).toMatch(
      /^5:5 routes\[0\]\.handshake\.verifyToken: required key is missing/,
    );
    expect(errors(route('    handshake: { type: dropbox, challenge: x }'))[0]).toMatch(
      /^5:33 routes\[0\]\.handshake\.challenge: unknown key 'challenge'/,
    );
  });

  it('a handshake the provider signs needs `verify`', () => {
    expect(errors(route('    handshake: { type: zoom, secretToken: "${TOKEN}" }'))).toEqual([
      "5:18 routes[0].handshake.type: 'zoom' handshakes are signed by the provider and answered only once the caller passed `verify`: add the provider's check to `verify` (docs/routing.md#provider-handshakes) [HOOKRELAY_CONFIG_INSECURE]",
    ]);
  });

  it('a stream route cannot answer a handshake', () => {
    expect(errors(route('    delivery: stream', '    handshake: { type: dropbox }'))).toEqual([
      '6:5 routes[0].handshake: does not apply to `delivery: stream` (a stream route does not hold the body to answer from; use a sync route) [HOOKRELAY_CONFIG_CONFLICT]',
    ]);
  });

  it('the tokens are secrets: warned when literal, redacted wherever shown', () => {
    const { warnings, config } = parseConfigWithWarnings(
      route('    handshake: { type: x, consumerSecret: "literal-consumer-secret" }'),
      'hookrelay.yaml',
      { env: {} },
    );
    expect(warnings.map(formatConfigIssue)).toEqual([
      'hookrelay.yaml:5:27: routes[0].handshake.consumerSecret: looks like a secret written literally; use ${VAR} or ${file:/path} [HOOKRELAY_CONFIG_LITERAL_SECRET]',
    ]);
    expect(secretFieldValues(config)).toContain('literal-consumer-secret');
  });
});
