/** Zod fields shared by the whole schema; each carries its own documentation. */
import { z } from 'zod';
import { configCode } from './config-codes.ts';
import { parseDuration, parseSize } from './units.ts';

export const duration = (description: string, example = '10s') =>
  z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      try {
        return parseDuration(value);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          message: (error as Error).message,
        });
        return z.NEVER;
      }
    })
    .meta({ description, example, format: 'duration' });

export const size = (description: string, example = '1mb') =>
  z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      try {
        return parseSize(value);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          message: (error as Error).message,
        });
        return z.NEVER;
      }
    })
    .meta({ description, example, format: 'size' });

// RFC 9110 §5.1: a field name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const headerName = z.string().regex(TOKEN, { message: 'must be a valid HTTP header name' });

export const headerMap = z
  .record(headerName, z.string())
  .meta({ description: 'Header name → value.', example: { 'X-Source': 'legacy-erp' } });

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

export const method = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(METHODS, { message: `must be one of ${METHODS.join(', ')}` }));
