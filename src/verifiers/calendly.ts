/** PLACEHOLDER: the `calendly` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('calendly') })
  .meta({ title: 'calendly', description: 'placeholder' });

export const calendlyVerifier: VerifierPlugin<typeof schema> = {
  type: 'calendly',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the calendly preset is not written yet');
  },
};
