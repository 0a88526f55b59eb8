/** PLACEHOLDER: the `square` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('square') })
  .meta({ title: 'square', description: 'placeholder' });

export const squareVerifier: VerifierPlugin<typeof schema> = {
  type: 'square',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the square preset is not written yet');
  },
};
