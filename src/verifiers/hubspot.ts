/** PLACEHOLDER: the `hubspot` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('hubspot') })
  .meta({ title: 'hubspot', description: 'placeholder' });

export const hubspotVerifier: VerifierPlugin<typeof schema> = {
  type: 'hubspot',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the hubspot preset is not written yet');
  },
};
