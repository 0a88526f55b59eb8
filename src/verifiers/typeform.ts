/** PLACEHOLDER: the `typeform` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('typeform') })
  .meta({ title: 'typeform', description: 'placeholder' });

export const typeformVerifier: VerifierPlugin<typeof schema> = {
  type: 'typeform',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the typeform preset is not written yet');
  },
};
