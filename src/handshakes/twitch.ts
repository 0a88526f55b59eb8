/** PLACEHOLDER: the `twitch` handshake, being written (replace this whole file). */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import type { Handshake } from './types.ts';

const schema = z.strictObject({ type: z.literal('twitch') }).meta({ title: 'twitch', description: 'placeholder' });

export const twitchHandshake: Plugin<typeof schema, Handshake> = {
  type: 'twitch',
  description: 'placeholder',
  schema,
  create(): Handshake {
    throw new Error('the twitch handshake is not written yet');
  },
};
