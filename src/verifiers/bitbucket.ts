/** PLACEHOLDER: the `bitbucket` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('bitbucket') })
  .meta({ title: 'bitbucket', description: 'placeholder' });

export const bitbucketVerifier: VerifierPlugin<typeof schema> = {
  type: 'bitbucket',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the bitbucket preset is not written yet');
  },
};
