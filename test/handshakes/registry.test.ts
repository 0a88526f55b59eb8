import { describe, expect, it } from 'vitest';
import { createRegistry, type Plugin } from '../../src/core/registry.ts';
import { handshakeRegistry } from '../../src/handshakes/index.ts';
import { slackHandshake } from '../../src/handshakes/slack.ts';
import type { Handshake } from '../../src/handshakes/types.ts';

describe('handshake registry', () => {
  it('holds every preset', () => {
    expect(handshakeRegistry.types()).toEqual([
      'slack',
      'msgraph',
      'okta',
      'meta',
      'zoom',
      'dropbox',
      'x',
      'discord',
      'twitch',
      'woocommerce',
    ]);
  });

  it('a new kind registers with one line; a duplicate type throws at start', () => {
    const other: Plugin<typeof slackHandshake.schema, Handshake> = { ...slackHandshake, type: 'other' };
    expect(createRegistry('handshake', [slackHandshake, other]).types()).toEqual(['slack', 'other']);
    expect(() => createRegistry('handshake', [slackHandshake, slackHandshake])).toThrow(
      "duplicate handshake type 'slack'",
    );
  });

  it('an unknown type names the known ones', () => {
    expect(() => handshakeRegistry.create({ type: 'teams' })).toThrow(
      "unknown handshake type 'teams', expected one of: slack, msgraph, okta, meta, zoom, dropbox, x, discord, twitch, woocommerce",
    );
  });
});
