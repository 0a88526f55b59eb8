import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/gen-docs.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { exampleSecret, type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * The worked examples in config/examples/ are documentation: their header comment says which
 * variables and secret files they need, and the scenario they describe must actually work.
 */
const DIR = join(ROOT, 'config/examples');
const examples = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const source = (name: string) => readFileSync(join(DIR, name), 'utf8');

/** `# Env:   A, B (secrets); optional C, D` → the required names A and B. */
function requiredEnv(text: string): string[] {
  const line = /^# Env:(.*)$/m.exec(text)?.[1] ?? '';
  const required = line.split(/optional/)[0]!;
  return [...required.matchAll(/\b[A-Z][A-Z0-9_]+\b/g)].map((m) => m[0]);
}

function files(text: string): string[] {
  const line = /^# Files:\s*(\S+)/m.exec(text)?.[1];
  return line ? [line] : [];
}

function missingVariables(name: string, env: Record<string, string>): string[] {
  try {
    parseConfig(source(name), name, { env, readFile: () => 'secret-from-file\n' });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map(
      (issue) => /environment variable '(\w+)' is not set/.exec(issue.message)?.[1] ?? issue.message,
    );
  }
}

describe('config/examples', () => {
  it('has worked examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples)('%s describes its scenario and needs exactly the variables its header lists', (name) => {
    const text = source(name);
    expect(text).toMatch(/^# Scenario: /m);
    expect(text).toMatch(/^# Check: /m);
    const required = requiredEnv(text);
    expect(missingVariables(name, {}).sort()).toEqual([...required].sort());
    const env = Object.fromEntries(required.map((n) => [n, exampleSecret(n)]));
    expect(missingVariables(name, env)).toEqual([]);
  });

  it('reads the chat token from the secret file named in its header', () => {
    const text = source('slack-style-bearer.yaml');
    const read: string[] = [];
    const config = parseConfig(text, 'slack-style-bearer.yaml', {
      env: {},
      readFile: (path) => {
        read.push(path);
        return 'xoxb-test-token\n';
      },
    });
    expect(read).toEqual(files(text));
    expect(config.routes[0]!.forward!.auth).toEqual({ type: 'bearer', token: 'xoxb-test-token' });
  });

  describe('scenarios', () => {
    let target: Target | undefined;
    let relay: Relay | undefined;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
      relay = undefined;
      target = undefined;
    });

    const envelope = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><Confirm id="4711"/></soapenv:Body></soapenv:Envelope>',
    );

    it('legacy-erp-soap: forwards the envelope with Basic auth and answers the fixed SOAP acknowledgement', async () => {
      target = await startTarget((_req, res) => {
        res.statusCode = 201;
        res.end('{"stored":true}');
      });
      relay = await startRelay(source('legacy-erp-soap.yaml'), {
        ORDERS_BASE_URL: target.url,
        ORDERS_PASSWORD: 'erp-s3cret',
      });
      const res = await fetch(`${relay.url}/erp/1000/order-confirmation`, {
        method: 'POST',
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          soapaction: '"urn:example:erp:OrderConfirmation"',
          'x-request-id': 'erp-msg-1',
        },
        body: envelope,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
      const ack = await res.text();
      expect(ack).toContain('<ns1:Status>OK</ns1:Status>');
      expect(ack).toContain('<ns1:RelayId>erp-msg-1</ns1:RelayId>');

      expect(target.received).toHaveLength(1);
      const got = target.received[0]!;
      expect(got.url).toBe('/api/plants/1000/confirmations');
      expect(got.body.equals(envelope)).toBe(true);
      expect(got.headers['content-type']).toBe('text/xml; charset=utf-8');
      expect(got.headers.soapaction).toBe('"urn:example:erp:OrderConfirmation"');
      expect(got.headers['x-source']).toBe('sap-erp');
      expect(got.headers.authorization).toBe(
        `Basic ${Buffer.from('hookrelay:erp-s3cret').toString('base64')}`,
      );
      expect(JSON.stringify(relay.logs)).not.toContain('erp-s3cret');
    });

    it('legacy-erp-soap: a target that refuses the message gets no acknowledgement', async () => {
      target = await startTarget((_req, res) => {
        res.statusCode = 400;
        res.setHeader('content-type', 'application/json');
        res.end('{"error":"unknown plant"}');
      });
      relay = await startRelay(source('legacy-erp-soap.yaml'), {
        ORDERS_BASE_URL: target.url,
        ORDERS_PASSWORD: 'erp-s3cret',
      });
      const res = await fetch(`${relay.url}/erp/9999/order-confirmation`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: envelope,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toBe('{"error":"unknown plant"}');
    });

    it('device-get-callback: puts the device id from the query into the path and adds the API key', async () => {
      target = await startTarget((_req, res) => {
        res.end('accepted');
      });
      relay = await startRelay(source('device-get-callback.yaml'), {
        IOT_BASE_URL: target.url,
        IOT_API_KEY: 'iot-key-1',
        ALARMS_API_KEY: 'alarm-key-1',
      });
      const res = await fetch(`${relay.url}/device/callback?id=D%201042&event=door_open`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(await res.text()).toBe('OK\n');
      expect(target.received).toHaveLength(1);
      const got = target.received[0]!;
      expect(got.method).toBe('GET');
      // Percent-encoded in the path.
      expect(got.url).toBe('/v1/devices/D%201042/events?id=D%201042&event=door_open');
      expect(got.headers['x-api-key']).toBe('iot-key-1');
      // A device id with a slash could add path segments at a target that decodes %2F: refused.
      const sneaky = await fetch(`${relay.url}/device/callback?id=D%2F..%2Fadmin&event=door_open`);
      expect(sneaky.status).toBe(400);
      expect(((await sneaky.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_INVALID_PARAMETER');
      expect(target.received).toHaveLength(1);
    });
  });
});
