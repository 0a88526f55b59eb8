/** PLACEHOLDER: the `woocommerce` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('woocommerce') })
  .meta({ title: 'woocommerce', description: 'placeholder' });

export const woocommerceVerifier: VerifierPlugin<typeof schema> = {
  type: 'woocommerce',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the woocommerce preset is not written yet');
  },
};
