/** PLACEHOLDER: the `intuit` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('intuit') })
  .meta({ title: 'intuit', description: 'placeholder' });

export const intuitVerifier: VerifierPlugin<typeof schema> = {
  type: 'intuit',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the intuit preset is not written yet');
  },
};
