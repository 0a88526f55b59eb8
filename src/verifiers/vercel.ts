/** PLACEHOLDER: the `vercel` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('vercel') })
  .meta({ title: 'vercel', description: 'placeholder' });

export const vercelVerifier: VerifierPlugin<typeof schema> = {
  type: 'vercel',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the vercel preset is not written yet');
  },
};
