import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from './helpers.ts';

describe('relay smoke', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('forwards a JSON body with a bearer token', async () => {
    target = await startTarget();
    relay = await startRelay(
      `
routes:
  - id: orders
    path: /in/orders
    forward:
      url: ${target.url}/hook
      auth: { type: bearer, token: "\${TOKEN}" }
`,
      { TOKEN: 's3cret' },
    );
    const res = await fetch(`${relay.url}/in/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(target.received).toHaveLength(1);
    expect(target.received[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(target.received[0]!.body.toString()).toBe('{"a":1}');
    expect(JSON.stringify(relay.logs)).not.toContain('s3cret');
  });
});
