/** PLACEHOLDER: the `xero` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('xero') })
  .meta({ title: 'xero', description: 'placeholder' });

export const xeroVerifier: VerifierPlugin<typeof schema> = {
  type: 'xero',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the xero preset is not written yet');
  },
};
