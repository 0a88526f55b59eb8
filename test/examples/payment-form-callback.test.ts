import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/** config/examples/payment-form-callback.yaml: a form-encoded telephony status callback to JSON. */
const ex = example('payment-form-callback');
const PASSWORD = 'analytics-s3cret';
const IDEMPOTENCY = '7b0e1c2d-3f4a-4b5c-8d6e-9f0a1b2c3d4e';

describe('payment-form-callback', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start() {
    target = await startTarget((_req, res) => {
      res.statusCode = 201;
      res.end();
    });
    relay = await startRelay(ex.source, { ANALYTICS_URL: target.url, ANALYTICS_PASSWORD: PASSWORD });
    return relay;
  }

  const post = (url: string, body: Buffer | string) =>
    fetch(`${url}/telephony/status-callback`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'i-twilio-idempotency-token': IDEMPOTENCY,
        'x-twilio-signature': 'bm90LWEtcmVhbC1zaWduYXR1cmU=',
        'x-request-id': 'cb-1',
      },
      body,
    });

  it('forwards the form fields as a JSON event and answers the provider with TwiML naming the call', async () => {
    const { url, logs } = await start();
    const res = await post(url, ex.fixture('request.form'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    expect(await res.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Response><!-- call CA5f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c relayed as cb-1 --></Response>\n',
    );

    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/v2/calls/events');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.authorization).toBe(
      `Basic ${Buffer.from(`hookrelay:${PASSWORD}`).toString('base64')}`,
    );
    expect(got.headers['idempotency-key']).toBe(IDEMPOTENCY);
    expect(got.headers['x-call-status']).toBe('completed');
    expect(got.headers['x-twilio-signature']).toBeUndefined();
    expect(got.headers['i-twilio-idempotency-token']).toBeUndefined();
    expect(JSON.parse(got.body.toString('utf8'))).toEqual(ex.expected);
    expect(JSON.stringify(logs)).not.toContain(PASSWORD);
  });

  it('a callback without CallSid: 422 naming the step, nothing forwarded', async () => {
    const { url } = await start();
    const res = await post(url, 'CallStatus=completed');
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(body.message).toMatch(/^transform\[1\] \(map\): .*CallSid/);
    expect(target!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_transform_errors_total', { route: 'call-status', step: '1-map' })).toBe(
      1,
    );
  });

  it('the fixture and the test case in the YAML expect the same body', () => {
    expect(declaredJson(ex, { ANALYTICS_PASSWORD: 'x' }, 'a completed call becomes a JSON event')).toEqual(
      ex.expected,
    );
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^4 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` prints the JSON that would be forwarded and no password', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, { ...env, ANALYTICS_PASSWORD: PASSWORD });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST https:\/\/analytics\.example\.com\/v2\/calls\/events\n/);
    expect(result.stdout).toContain('authorization: Basic <redacted>\n');
    expect(result.stdout).toContain(`idempotency-key: ${IDEMPOTENCY}\n`);
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).not.toContain(Buffer.from(`hookrelay:${PASSWORD}`).toString('base64'));
    expect(result.stdout).not.toContain(PASSWORD);
  });
});
