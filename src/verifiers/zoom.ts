/** PLACEHOLDER: the `zoom` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('zoom') })
  .meta({ title: 'zoom', description: 'placeholder' });

export const zoomVerifier: VerifierPlugin<typeof schema> = {
  type: 'zoom',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the zoom preset is not written yet');
  },
};
