/** PLACEHOLDER: the `mailgun` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('mailgun') })
  .meta({ title: 'mailgun', description: 'placeholder' });

export const mailgunVerifier: VerifierPlugin<typeof schema> = {
  type: 'mailgun',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the mailgun preset is not written yet');
  },
};
