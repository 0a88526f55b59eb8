/** PLACEHOLDER: the `okta` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('okta') })
  .meta({ title: 'okta', description: 'placeholder' });

export const oktaVerifier: VerifierPlugin<typeof schema> = {
  type: 'okta',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the okta preset is not written yet');
  },
};
