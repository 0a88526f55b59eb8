/** PLACEHOLDER: the `sendgrid` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('sendgrid') })
  .meta({ title: 'sendgrid', description: 'placeholder' });

export const sendgridVerifier: VerifierPlugin<typeof schema> = {
  type: 'sendgrid',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the sendgrid preset is not written yet');
  },
};
