/**
 * Every provider handshake kind (route key `handshake`). Adding one = one file + one line here and
 * in the union below.
 */
import { z } from 'zod';
import { createRegistry } from '../core/registry.ts';
import { discordHandshake } from './discord.ts';
import { dropboxHandshake } from './dropbox.ts';
import { metaHandshake } from './meta.ts';
import { msgraphHandshake } from './msgraph.ts';
import { oktaHandshake } from './okta.ts';
import { slackHandshake } from './slack.ts';
import { twitchHandshake } from './twitch.ts';
import type { Handshake } from './types.ts';
import { woocommerceHandshake } from './woocommerce.ts';
import { xHandshake } from './x.ts';
import { zoomHandshake } from './zoom.ts';

export const handshakeRegistry = createRegistry<Handshake>('handshake', [
  slackHandshake,
  msgraphHandshake,
  oktaHandshake,
  metaHandshake,
  zoomHandshake,
  dropboxHandshake,
  xHandshake,
  discordHandshake,
  twitchHandshake,
  woocommerceHandshake,
]);

export const handshakeSchema = z
  .discriminatedUnion('type', [
    slackHandshake.schema,
    msgraphHandshake.schema,
    oktaHandshake.schema,
    metaHandshake.schema,
    zoomHandshake.schema,
    dropboxHandshake.schema,
    xHandshake.schema,
    discordHandshake.schema,
    twitchHandshake.schema,
    woocommerceHandshake.schema,
  ])
  .meta({
    description:
      "A provider's endpoint handshake answered by the relay itself and never forwarded, chosen by `type` (docs/routing.md#provider-handshakes).",
  });

export type HandshakeConfig = z.output<typeof handshakeSchema>;
