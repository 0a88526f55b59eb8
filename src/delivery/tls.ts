/**
 * Client TLS for forwarding: the `tls` block of a route (client certificate and key for mTLS,
 * extra trusted CAs, server name) checked as PEM and compiled into what undici passes to
 * `tls.connect`, with an identity key so routes with different certificates never share a pool.
 */
import { createHash } from 'node:crypto';
import { getCACertificates, rootCertificates } from 'node:tls';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';

const pem = (label: RegExp, what: string) =>
  z.string().refine((value) => label.test(value), {
    // Never quote the value: a key is a secret, and a certificate is noise in an error.
    params: configCode('HOOKRELAY_CONFIG_INVALID_FORMAT'),
    message: `must be PEM text (${what}); read it from a file with \${file:/path}`,
  });

const CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?(?:ENCRYPTED )?PRIVATE KEY-----/;

export const tlsSchema = z
  .strictObject({
    cert: pem(CERTIFICATE, '-----BEGIN CERTIFICATE-----').optional().meta({
      description: 'Client certificate chain presented to the target (mTLS), PEM.',
      example: '${file:/run/secrets/client.crt}',
    }),
    key: pem(PRIVATE_KEY, '-----BEGIN PRIVATE KEY-----').optional().meta({
      description: 'Private key of the client certificate, PEM.',
      example: '${file:/run/secrets/client.key}',
      secret: true,
    }),
    passphrase: z.string().optional().meta({
      description: 'Passphrase of an encrypted `key`.',
      example: '${CLIENT_KEY_PASSPHRASE}',
      secret: true,
    }),
    ca: pem(CERTIFICATE, '-----BEGIN CERTIFICATE-----').optional().meta({
      description:
        "CA certificate(s), PEM, trusted for the target's certificate in addition to the usual public CAs (or instead of them with `pinCa`).",
      example: '${file:/etc/hookrelay/target-ca.pem}',
    }),
    pinCa: z.boolean().default(false).meta({
      description:
        'Trust only `ca` for this target: a certificate from any other CA, public ones included, is refused.',
    }),
    servername: z.string().min(1).optional().meta({
      description:
        "Name expected in the target's certificate and sent as SNI, when it differs from the URL host (e.g. a target reached by IP address).",
      example: 'api.internal.example.com',
    }),
  })
  .superRefine((config, ctx) => {
    if (!config.cert !== !config.key) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: [config.cert ? 'key' : 'cert'],
        message: 'a client certificate needs both `cert` and `key`',
      });
    }
    if (config.passphrase !== undefined && !config.key) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: ['passphrase'],
        message: 'only applies with `key`',
      });
    }
    if (config.pinCa && !config.ca) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: ['pinCa'],
        message: 'needs `ca`: the CA to trust exclusively',
      });
    }
  })
  .meta({
    description:
      'TLS toward an https target: a client certificate (mTLS), extra or pinned CAs, the expected server name. Certificates are always verified.',
  });

export type TlsConfig = z.output<typeof tlsSchema>;

/** What undici passes to `tls.connect`, and a key naming this identity for the pool map. */
export interface TlsIdentity {
  /** A hash of the options: routes with the same origin but another identity get their own pool. */
  id: string;
  connect: {
    cert?: string;
    key?: string;
    passphrase?: string;
    ca?: string[];
    servername?: string;
    rejectUnauthorized: true;
  };
}

/** Node's default trust store (bundled CAs and NODE_EXTRA_CA_CERTS; system ones with --use-system-ca). */
function defaultCas(): string[] {
  return typeof getCACertificates === 'function' ? getCACertificates('default') : [...rootCertificates];
}

export function compileTls(config: TlsConfig): TlsIdentity {
  const connect: TlsIdentity['connect'] = { rejectUnauthorized: true };
  if (config.cert) connect.cert = config.cert;
  if (config.key) connect.key = config.key;
  if (config.passphrase !== undefined) connect.passphrase = config.passphrase;
  // Node's `ca` option replaces the trust store; adding a CA means passing the defaults too.
  if (config.ca) connect.ca = config.pinCa ? [config.ca] : [...defaultCas(), config.ca];
  if (config.servername) connect.servername = config.servername;
  const id = createHash('sha256')
    .update(
      JSON.stringify([
        config.cert,
        config.key,
        config.passphrase,
        config.ca,
        config.pinCa,
        config.servername,
      ]),
    )
    .digest('base64url')
    .slice(0, 22);
  return { id, connect };
}
