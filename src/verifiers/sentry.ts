/** PLACEHOLDER: the `sentry` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('sentry') })
  .meta({ title: 'sentry', description: 'placeholder' });

export const sentryVerifier: VerifierPlugin<typeof schema> = {
  type: 'sentry',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the sentry preset is not written yet');
  },
};
