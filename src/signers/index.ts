/**
 * Every outbound signer kind, in the plugin registry and in the schema's discriminated union.
 */
import { z } from 'zod';
import { createRegistry } from '../core/registry.ts';
import { hmacSigner } from './hmac.ts';
import { standardWebhooksSigner } from './standard-webhooks.ts';
import type { Signer } from './types.ts';

export const signerRegistry = createRegistry<Signer>('signer', [standardWebhooksSigner, hmacSigner]);

export const signerSchema = z
  .discriminatedUnion('type', [standardWebhooksSigner.schema, hmacSigner.schema])
  .meta({ description: 'A signature computed over each forwarded request.' });

export type SignerConfig = z.output<typeof signerSchema>;
