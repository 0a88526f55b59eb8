/** PLACEHOLDER: the `adyen` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('adyen') })
  .meta({ title: 'adyen', description: 'placeholder' });

export const adyenVerifier: VerifierPlugin<typeof schema> = {
  type: 'adyen',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the adyen preset is not written yet');
  },
};
