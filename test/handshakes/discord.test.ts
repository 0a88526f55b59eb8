import { generateKeyPairSync, sign } from 'node:crypto';
import { verifyKey } from 'discord-interactions';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { call, preset, reply } from './support.ts';

/** Discord's PING: answered `{"type":1}` only once the signature passed, never forwarded. */

const keys = generateKeyPairSync('ed25519');
const PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex');
const other = generateKeyPairSync('ed25519');

// https://discord.com/developers/docs/interactions/receiving-and-responding#receiving-an-interaction
const PING =
  '{"application_id":"1183456963206561813","id":"1183457295017947136","token":"aW50ZXJhY3Rpb24","type":1,"user":{"id":"53908232506183680"},"version":1}';
const COMMAND =
  '{"application_id":"1183456963206561813","id":"1183457295017947137","type":2,"data":{"name":"type","options":[{"name":"type","value":1}]}}';

function signed(body: string, key = keys.privateKey) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(timestamp + body), key).toString('hex');
  return {
    'content-type': 'application/json',
    'x-signature-ed25519': signature,
    'x-signature-timestamp': timestamp,
  };
}

describe('handshake: discord', () => {
  it('a PING ("type": 1) is answered {"type":1}; other interactions and bodies go on', () => {
    const discord = preset({ type: 'discord' });
    expect(discord.signed).toBe(true);
    expect(discord.methods).toEqual(['POST']);
    expect(reply(discord, call('POST', '', PING))).toMatchObject({
      kind: 'answer',
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"type":1}',
    });
    expect(reply(discord, call('POST', '', '{"type" : 1}'))).toMatchObject({ body: '{"type":1}' });
    // A command whose options say "type": 1 deeper down is not a PING.
    expect(reply(discord, call('POST', '', COMMAND))).toBeUndefined();
    expect(reply(discord, call('POST', '', '{"type":"1"}'))).toBeUndefined();
    expect(reply(discord, call('POST', '', '[{"type":1}]'))).toBeUndefined();
    expect(reply(discord, call('POST', '', 'not json "type": 1'))).toBeUndefined();
    expect(reply(discord, call('POST', '', ''))).toBeUndefined();
    expect(reply(discord, call('GET', '', PING))).toBeUndefined();
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('a genuine PING is answered and not forwarded; a badly signed one is 401; interactions go on', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: discord
    path: /discord/interactions
    handshake: { type: discord }
    verify:
      - type: discord
        publicKeys: ["\${DISCORD_PUBLIC_KEY}"]
    forward:
      url: ${target.url}/interactions
`,
        { DISCORD_PUBLIC_KEY: PUBLIC_KEY },
      );
      const post = (headers: Record<string, string>, body: string) =>
        fetch(`${relay.url}/discord/interactions`, { method: 'POST', headers, body });

      const pingHeaders = signed(PING);
      expect(
        await verifyKey(
          PING,
          pingHeaders['x-signature-ed25519'],
          pingHeaders['x-signature-timestamp'],
          PUBLIC_KEY,
        ),
      ).toBe(true);
      const pong = await post(pingHeaders, PING);
      expect(pong.status).toBe(200);
      expect(pong.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await pong.json()).toEqual({ type: 1 });

      // Discord's own check: PINGs signed wrongly, or not at all, must be refused.
      const forged = await post(signed(PING, other.privateKey), PING);
      expect(forged.status).toBe(401);
      expect(((await forged.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_UNAUTHORIZED');
      const tampered = await post(pingHeaders, PING.replace('"version":1', '"version":2'));
      expect(tampered.status).toBe(401);
      expect((await post({ 'content-type': 'application/json' }, PING)).status).toBe(401);

      const command = await post(signed(COMMAND), COMMAND);
      expect(command.status).toBe(200);
      expect(target.received.map((r) => r.body.toString())).toEqual([COMMAND]);

      const text = await (await fetch(`${relay.url}/metrics`)).text();
      expect(sample(text, 'hookrelay_handshakes_answered_total', { route: 'discord', type: 'discord' })).toBe(
        1,
      );
    });
  });
});
