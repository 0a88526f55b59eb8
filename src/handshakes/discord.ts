/** PLACEHOLDER: the `discord` handshake, being written (replace this whole file). */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import type { Handshake } from './types.ts';

const schema = z.strictObject({ type: z.literal('discord') }).meta({ title: 'discord', description: 'placeholder' });

export const discordHandshake: Plugin<typeof schema, Handshake> = {
  type: 'discord',
  description: 'placeholder',
  schema,
  create(): Handshake {
    throw new Error('the discord handshake is not written yet');
  },
};
