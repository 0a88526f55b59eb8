/** PLACEHOLDER: the `twitch` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('twitch') })
  .meta({ title: 'twitch', description: 'placeholder' });

export const twitchVerifier: VerifierPlugin<typeof schema> = {
  type: 'twitch',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the twitch preset is not written yet');
  },
};
