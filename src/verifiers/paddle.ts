/** PLACEHOLDER: the `paddle` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('paddle') })
  .meta({ title: 'paddle', description: 'placeholder' });

export const paddleVerifier: VerifierPlugin<typeof schema> = {
  type: 'paddle',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the paddle preset is not written yet');
  },
};
