/** PLACEHOLDER: the `discord` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('discord') })
  .meta({ title: 'discord', description: 'placeholder' });

export const discordVerifier: VerifierPlugin<typeof schema> = {
  type: 'discord',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the discord preset is not written yet');
  },
};
