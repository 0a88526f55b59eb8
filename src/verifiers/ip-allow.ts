/**
 * The `ipAllow` verifier: the caller's address (or, behind trusted proxies, the client
 * X-Forwarded-For names) must fall in one of the configured CIDR ranges.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import type { Plugin } from '../core/registry.ts';
import { fail, headerValue, pass, type Verifier, type VerifyRequest } from './types.ts';

const CIDR = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/;

const schema = z
  .strictObject({
    type: z.literal('ipAllow'),
    cidrs: z
      .array(z.string())
      .min(1)
      .meta({
        description: 'Allowed addresses or CIDR ranges, IPv4 or IPv6.',
        example: ['192.0.2.0/24', '2001:db8::/32'],
      }),
    trustProxy: z.number().int().min(0).max(10).default(0).meta({
      description:
        'Proxies in front of hookrelay whose `X-Forwarded-For` entries are trusted: 0 uses the TCP peer; 1 uses the last entry the nearest proxy added; and so on. Never more than the proxies you run, or callers can forge their address.',
    }),
  })
  .superRefine((config, ctx) => {
    config.cidrs.forEach((cidr, index) => {
      if (!parseCidr(cidr)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          path: ['cidrs', index],
          message: `invalid address or CIDR '${cidr}'`,
        });
      }
    });
  })
  .meta({ title: 'ipAllow', description: 'Only callers from these addresses (403 otherwise).' });

/** An address or CIDR range (`192.0.2.0/24`, `2001:db8::/32`); undefined when malformed. */
export function parseCidr(
  cidr: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = CIDR.exec(cidr.trim());
  if (!match) return undefined;
  const version = isIP(match[1]!);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = match[2] === undefined ? max : Number(match[2]);
  if (prefix > max) return undefined;
  return { address: match[1]!, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The caller's address: the TCP peer, or an X-Forwarded-For entry vouched for by `hops` trusted proxies. */
export function clientAddress(request: VerifyRequest, hops: number): string {
  if (hops === 0) return request.remoteAddress;
  const chain = (headerValue(request.headers, 'x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const all = [...chain, request.remoteAddress];
  return all[Math.max(0, all.length - 1 - hops)]!;
}

export const ipAllowVerifier: Plugin<typeof schema, Verifier> = {
  type: 'ipAllow',
  description: 'Caller address allow list (IPv4/IPv6 CIDR), with a trusted-proxy hop count.',
  schema,
  create(config) {
    const list = new BlockList();
    for (const cidr of config.cidrs) {
      const { address, prefix, family } = parseCidr(cidr)!;
      list.addSubnet(address, prefix, family);
    }
    return {
      verify(request) {
        let address = clientAddress(request, config.trustProxy);
        if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) address = address.slice(7);
        const family = isIP(address);
        if (family === 0) return fail('malformed', 'the caller address is not an IP address');
        return list.check(address, family === 4 ? 'ipv4' : 'ipv6')
          ? pass
          : fail('forbidden', 'address not in the allow list');
      },
    };
  },
};
